"""Texting a lead through Twilio, and what Twilio tells us back (STOP, START, HELP, status).

The journey engine's SMS node calls `send_sms`; it never talks to Twilio itself. A text is
refused, and the refusal recorded, when the lead has no valid number or no SMS consent, or
its number replied STOP; during quiet hours in the lead's zone it is held: nothing is
written and the caller gets the time to try again (the engine keeps that in its own row).
"""

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from phonenumbers import timezone as number_zones
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageList
from twilio.twiml.messaging_response import MessagingResponse

from capture.models import Lead
from leadfunnel.outbound import http
from leadfunnel.zones import zone_or
from nurture.models import SmsMessage, SmsSuppression
from nurture.services.sms_segments import count_segments

logger = logging.getLogger(__name__)

# The keywords carriers and Twilio treat as opt-out, opt-in and help (matched on the whole
# trimmed message, case-insensitively, as Twilio's own opt-out handling does).
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Twilio's "Attempt to send to unsubscribed recipient": the person sent STOP to our sender
# number without us hearing of it (a webhook lost): remember it as a STOP.
TWILIO_UNSUBSCRIBED_RECIPIENT = 21610
# A Messages answer is a few KB of JSON; the one outbound client reads at most this much.
TWILIO_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class SmsResult:
    outcome: Literal["sent", "refused", "held", "failed"]
    message: SmsMessage | None = None
    # Why it was refused (SmsMessage.Refusal) or failed (Twilio's message).
    reason: str = ""
    # For a held text: the first time quiet hours allow it.
    hold_until: datetime | None = None


def send_sms(*, lead_id: int, body: str, now: datetime | None = None) -> SmsResult:
    """Text `body` to the lead, unless a rule refuses it or quiet hours hold it.

    The SmsMessage row is committed as `sending` before Twilio is called and updated after,
    so a worker killed in between leaves a row that says so instead of an unrecorded text.
    """
    now = now or timezone.now()
    lead = Lead.objects.get(pk=lead_id)
    number = valid_e164(lead.phone)
    refusal = _refusal(lead=lead, number=number)
    if refusal or number is None:
        message = SmsMessage.objects.create(
            lead=lead,
            to_number=number or "",
            body=body,
            status=SmsMessage.Status.REFUSED,
            refusal=refusal or SmsMessage.Refusal.INVALID_NUMBER,
            segments=count_segments(body).segments,
        )
        logger.info("sms to lead %s refused: %s", lead_id, refusal)
        return SmsResult(outcome="refused", message=message, reason=message.refusal)
    hold_until = quiet_hours_end(at=now, zone=sms_zone(lead=lead, number=number))
    if hold_until is not None:
        return SmsResult(outcome="held", hold_until=hold_until)
    message = SmsMessage.objects.create(
        lead=lead,
        to_number=number,
        body=body,
        status=SmsMessage.Status.SENDING,
        segments=count_segments(body).segments,
    )
    try:
        sent = _messages().create(to=number, body=body, **_sender(), **_status_callback())
    except TwilioRestException as error:
        if error.code == TWILIO_UNSUBSCRIBED_RECIPIENT:
            suppress_number(phone=number, reason=SmsSuppression.Reason.CARRIER, keyword="")
        _fail(message, code=str(error.code or error.status), text=error.msg)
        return SmsResult(outcome="failed", message=message, reason=error.msg)
    except (TwilioException, OSError) as error:
        # No answer (OutboundHttpClient): the text may or may not have left: say so, no retry
        # here (a retry that went through twice is a text the person gets twice).
        _fail(message, code="", text=f"No answer from Twilio: {error}")
        return SmsResult(outcome="failed", message=message, reason=message.error_message)
    message.twilio_sid = sent.sid
    status = str(sent.status or "")
    message.status = status if status in SmsMessage.Status.values else SmsMessage.Status.QUEUED
    message.sent_at = timezone.now()
    message.save(update_fields=["twilio_sid", "status", "sent_at", "updated_at"])
    return SmsResult(outcome="sent", message=message)


def sms_zone(*, lead: Lead, number: str) -> ZoneInfo:
    """The lead's own zone, else the one its number belongs to (when the number has just
    one), else SMS_FALLBACK_TIME_ZONE."""
    names = [lead.time_zone]
    zones = number_zones.time_zones_for_number(phonenumbers.parse(number))
    if len(zones) == 1:
        names.append(zones[0])
    return zone_or(*names, settings.SMS_FALLBACK_TIME_ZONE)


def quiet_hours_end(*, at: datetime, zone: ZoneInfo) -> datetime | None:
    """None when `at` is outside quiet hours in `zone`, else when they end (aware, UTC)."""
    start, end = settings.SMS_QUIET_START_HOUR, settings.SMS_QUIET_END_HOUR
    if start == end:
        return None
    local = at.astimezone(zone)
    if start > end:  # over midnight, e.g. 21:00–09:00
        if end <= local.hour < start:
            return None
        day = local.date() + timedelta(days=1) if local.hour >= start else local.date()
    else:
        if not start <= local.hour < end:
            return None
        day = local.date()
    # Built from the wall clock of that day: right across a DST change in between.
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def suppress_number(*, phone: str, reason: str, keyword: str) -> None:
    """Stop texting this number (idempotent: a second STOP keeps the first row)."""
    try:
        with transaction.atomic():
            SmsSuppression.objects.get_or_create(
                phone=phone, defaults={"reason": reason, "keyword": keyword[:20]}
            )
    except IntegrityError:
        pass  # a simultaneous STOP inserted it first: suppressed either way


def handle_inbound_sms(*, from_number: str, body: str) -> str:
    """Apply an inbound text's keyword and return the TwiML to answer with."""
    keyword = body.strip().strip(".!").upper()
    number = valid_e164(from_number)
    reply = MessagingResponse()
    if number is None:
        return str(reply)
    if keyword in STOP_KEYWORDS:
        suppress_number(phone=number, reason=SmsSuppression.Reason.STOPPED, keyword=keyword)
        # No reply: Twilio's opt-out handling answers STOP itself, and a text of ours to a
        # number that just opted out would be refused (21610).
    elif keyword in START_KEYWORDS:
        SmsSuppression.objects.filter(phone=number).delete()
    elif keyword in HELP_KEYWORDS:
        reply.message(settings.SMS_HELP_REPLY)
    return str(reply)


def record_sms_status(*, sid: str, status: str, error_code: str = "") -> bool:
    """Store Twilio's delivery status for one message; False when the SID is not ours or
    the message already has its final status."""
    if status not in SmsMessage.Status.values:
        return False
    changes: dict[str, str] = {"status": status}
    if error_code:
        changes["error_code"] = error_code[:20]
    # Twilio does not promise callbacks in order: a late "sent" must not undo "delivered".
    final = (SmsMessage.Status.DELIVERED, SmsMessage.Status.UNDELIVERED, SmsMessage.Status.FAILED)
    updated = (
        SmsMessage.objects.filter(twilio_sid=sid)
        .exclude(status__in=final)
        .update(**changes, updated_at=timezone.now())
    )
    return updated == 1


def twilio_signature_valid(*, path: str, params: QueryDict, signature: str) -> bool:
    """Twilio signs the URL it called (ours, as SITE_URL names it) and the POSTed fields
    with our auth token. Without a token nothing can be verified, so nothing is."""
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return bool(validator.validate(settings.SITE_URL + path, params, signature))


def _refusal(*, lead: Lead, number: str | None) -> str:
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and _sender()):
        return SmsMessage.Refusal.NOT_CONFIGURED
    if number is None:
        return SmsMessage.Refusal.INVALID_NUMBER
    if lead.sms_consent_given_at is None:
        return SmsMessage.Refusal.NO_CONSENT
    if SmsSuppression.objects.filter(phone=number).exists():
        return SmsMessage.Refusal.SUPPRESSED
    return ""


def valid_e164(phone: str) -> str | None:
    """A stored number, if it is a valid E.164 one (values from before the rule may not be)."""
    if not phone.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _messages() -> MessageList:
    """The twilio client's Messages list, talking to TWILIO_API_BASE.

    The library builds URLs from its API domain's `base_url` (https://api.twilio.com);
    `edge`/`region` only rewrite parts of that host name, so the domain's base URL is what
    points it at another server (a test's fake, a proxy).
    """
    client = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=OutboundHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.TWILIO_API_BASE
    return client.api.v2010.account.messages


class OutboundHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """The twilio library's requests, sent by the one outbound client (leadfunnel.outbound).

    The library builds the request (URL, form body, Basic auth); this sends it as every other
    outside call is sent: the same SSRF guard and address pinning, no redirects followed.
    A failure to get an answer raises TwilioException, which `send_sms` records as "No answer
    from Twilio" without retrying.
    """

    def __init__(self, *, timeout: float) -> None:
        super().__init__(logger, is_async=False, timeout=timeout)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {pair}"
        body = b""
        if data:
            body = urlencode(data, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if params:
            uri = f"{uri}?{urlencode(params, doseq=True)}"
        outcome = http.request(
            method=method,
            url=uri,
            body=body,
            headers=headers,
            timeout=timeout or self.timeout or settings.TWILIO_TIMEOUT_SECONDS,
            response_bytes=TWILIO_RESPONSE_BYTES,
        )
        if outcome.status_code is None:
            raise TwilioException(outcome.error)
        return Response(outcome.status_code, outcome.response)


def _sender() -> dict[str, str]:
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        return {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
    if settings.TWILIO_FROM_NUMBER:
        return {"from_": settings.TWILIO_FROM_NUMBER}
    return {}


def _status_callback() -> dict[str, str]:
    if not settings.SITE_URL.startswith("https://"):
        return {}  # Twilio cannot call a development machine back
    return {"status_callback": settings.SITE_URL + reverse("nurture:sms_status")}


def _fail(message: SmsMessage, *, code: str, text: str) -> None:
    message.status = SmsMessage.Status.FAILED
    message.error_code, message.error_message = code[:20], text
    message.save(update_fields=["status", "error_code", "error_message", "updated_at"])
