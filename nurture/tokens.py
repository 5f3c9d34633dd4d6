"""Signed tokens for every link in an email: nothing a prospect can edit into another's."""

from typing import Any

from django.core import signing

_UNSUBSCRIBE = "nurture.unsubscribe"
_OPEN = "nurture.open"
_CLICK = "nurture.click"
_CONFIRM = "nurture.confirm"
BOOKING_SALT = "sales.booking"


def unsubscribe_token(*, lead_id: int, delivery_id: int | None = None) -> str:
    return signing.dumps({"l": lead_id, "d": delivery_id}, salt=_UNSUBSCRIBE, compress=True)


def read_unsubscribe_token(token: str) -> dict[str, Any]:
    return signing.loads(token, salt=_UNSUBSCRIBE)


def open_token(*, delivery_id: int) -> str:
    return signing.dumps(delivery_id, salt=_OPEN)


def read_open_token(token: str) -> int:
    return int(signing.loads(token, salt=_OPEN))


def click_token(*, delivery_id: int, url: str) -> str:
    return signing.dumps({"d": delivery_id, "u": url}, salt=_CLICK, compress=True)


def read_click_token(token: str) -> dict[str, Any]:
    return signing.loads(token, salt=_CLICK)


def booking_token(*, lead_uid: str) -> str:
    return signing.dumps(str(lead_uid), salt=BOOKING_SALT)


def confirm_token(*, lead_id: int) -> str:
    return signing.dumps(lead_id, salt=_CONFIRM)


def read_confirm_token(token: str) -> int:
    return int(signing.loads(token, salt=_CONFIRM))
