"""Signed tokens for every link in an email: nothing a prospect can edit into another's."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.core import signing

_UNSUBSCRIBE = "nurture.unsubscribe"
_OPEN = "nurture.open"
_CLICK = "nurture.click"
_CONFIRM = "nurture.confirm"
BOOKING_SALT = "sales.booking"


# Every token names the lead's uid as well as its row: erasure gives the lead a new uid, so
# every link ever emailed to the person stops working (and records nothing) at once.
# Links minted before tokens named the uid (a bare id, or a dict without "k") are still in
# inboxes and still work (an unsubscribe link must): they read with `lead_uid=None`, and the
# selectors then tell an erased lead by its placeholder address instead.


@dataclass(frozen=True)
class LeadLink:
    lead_id: int
    lead_uid: uuid.UUID | None
    delivery_id: int | None = None


@dataclass(frozen=True)
class DeliveryLink:
    delivery_id: int
    lead_uid: uuid.UUID | None


@dataclass(frozen=True)
class ClickLink:
    delivery_id: int
    lead_uid: uuid.UUID | None
    url: str


def unsubscribe_token(*, lead_id: int, lead_uid: uuid.UUID, delivery_id: int | None = None) -> str:
    payload = {"l": lead_id, "k": lead_uid.hex, "d": delivery_id}
    return signing.dumps(payload, salt=_UNSUBSCRIBE, compress=True)


def read_unsubscribe_token(token: str) -> LeadLink:
    data = _load(token, salt=_UNSUBSCRIBE)
    delivery_id = data.get("d")
    return LeadLink(
        lead_id=_int(data.get("l")),
        lead_uid=_uid(data.get("k")),
        delivery_id=None if delivery_id is None else _int(delivery_id),
    )


def open_token(*, delivery_id: int, lead_uid: uuid.UUID) -> str:
    return signing.dumps({"d": delivery_id, "k": lead_uid.hex}, salt=_OPEN, compress=True)


def read_open_token(token: str) -> DeliveryLink:
    data = _load(token, salt=_OPEN, legacy_key="d")
    return DeliveryLink(delivery_id=_int(data.get("d")), lead_uid=_uid(data.get("k")))


def click_token(*, delivery_id: int, lead_uid: uuid.UUID, url: str) -> str:
    payload = {"d": delivery_id, "k": lead_uid.hex, "u": url}
    return signing.dumps(payload, salt=_CLICK, compress=True)


def read_click_token(token: str) -> ClickLink:
    data = _load(token, salt=_CLICK)
    url = data.get("u")
    if not isinstance(url, str):
        raise signing.BadSignature("No link in the token")
    return ClickLink(delivery_id=_int(data.get("d")), lead_uid=_uid(data.get("k")), url=url)


def booking_token(*, lead_uid: str) -> str:
    return signing.dumps(str(lead_uid), salt=BOOKING_SALT)


def confirm_token(*, lead_id: int, lead_uid: uuid.UUID) -> str:
    return signing.dumps({"l": lead_id, "k": lead_uid.hex}, salt=_CONFIRM, compress=True)


def read_confirm_token(token: str) -> LeadLink:
    data = _load(token, salt=_CONFIRM, legacy_key="l")
    return LeadLink(lead_id=_int(data.get("l")), lead_uid=_uid(data.get("k")))


def _load(token: str, *, salt: str, legacy_key: str = "") -> dict[str, Any]:
    """The token's payload, or BadSignature for a forged one. A link of the older shape that
    signed a bare id reads as `{legacy_key: id}`."""
    data = signing.loads(token, salt=salt)
    if legacy_key and isinstance(data, int):
        return {legacy_key: data}
    if not isinstance(data, dict):
        raise signing.BadSignature("Not a token of this kind")
    return data


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise signing.BadSignature("Malformed token")
    return value


def _uid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(hex=str(value))
    except ValueError:
        raise signing.BadSignature("Malformed token") from None
