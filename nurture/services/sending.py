"""Sending one delivery: claim it, re-check that it should still go, render, send, record."""

import logging
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Step, Suppression
from nurture.services import exits
from nurture.services.composing import build_message
from nurture.services.scheduling import exit_enrollments

logger = logging.getLogger(__name__)
_STAGE_EXITS = {
    Lead.Stage.BOOKED: Enrollment.ExitReason.BOOKED,
    Lead.Stage.WON: Enrollment.ExitReason.WON,
    Lead.Stage.LOST: Enrollment.ExitReason.LOST,
}


@dataclass(frozen=True)
class SendFailure:
    temporary: bool
    reason: str
    bounced: bool = False


def send_delivery(*, delivery_id: int) -> str:
    """Send one delivery if it is still due to go; returns what happened, for logs and tests.

    The claim is a conditional UPDATE (queued → sending): a second copy of the task finds
    nothing to claim. The SMTP or ESP call happens outside any transaction.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.SENDING, status_changed_at=now
    )
    if claimed != 1:
        return "not claimed"
    delivery = Delivery.objects.select_related(
        "enrollment__lead", "enrollment__sequence", "step"
    ).get(pk=delivery_id)
    held = _hold_reason(delivery)
    if held is not None:
        return held
    message = build_message(delivery=delivery)
    try:
        message.send()
    except Exception as error:
        return _record_failure(delivery=delivery, failure=classify_failure(error), now=now)
    status = getattr(message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) if status is not None else None
    # An ESP's own id is what its webhooks quote back; SMTP has only our Message-ID.
    message_id = esp_id if isinstance(esp_id, str) else message.extra_headers["Message-ID"]
    _record_sent(delivery=delivery, message_id=message_id)
    return "sent"


def classify_failure(error: Exception) -> SendFailure:
    """Temporary failures (4xx, timeouts, a dropped connection) retry; others are final."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return SendFailure(temporary=not permanent, reason=f"recipient refused: {error.recipients}",
                           bounced=permanent)  # fmt: skip
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)  # fmt: skip
        return SendFailure(temporary=400 <= error.smtp_code < 500,
                           reason=f"{error.smtp_code} {detail}")  # fmt: skip
    if isinstance(error, AnymailRecipientsRefused):
        return SendFailure(temporary=False, reason=str(error), bounced=True)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None) or 0
        return SendFailure(temporary=status == 429 or status >= 500 or status == 0,
                           reason=str(error)[:500])  # fmt: skip
    if isinstance(error, smtplib.SMTPServerDisconnected | socket.timeout | OSError):
        return SendFailure(temporary=True, reason=f"{type(error).__name__}: {error}")
    return SendFailure(temporary=False, reason=f"{type(error).__name__}: {error}")


def _hold_reason(delivery: Delivery) -> str | None:
    """Why this delivery must not go now (and what was done about it), else None."""
    lead, enrollment, step = delivery.enrollment.lead, delivery.enrollment, delivery.step
    sequence = enrollment.sequence
    if enrollment.state == Enrollment.State.PAUSED:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now()
        )
        return "paused"
    live = enrollment.state == Enrollment.State.ACTIVE or exits.confirmation_survives(
        enrollment=enrollment, step=step
    )
    if not live or not step.is_active:
        _finish(delivery, Delivery.Status.CANCELLED, "enrollment ended or step removed")
        return "cancelled"
    if Suppression.objects.filter(email=lead.email).exists():
        _finish(delivery, Delivery.Status.SKIPPED, "address suppressed")
        exit_enrollments(lead_id=lead.pk, reason=Enrollment.ExitReason.SUPPRESSED)
        return "suppressed"
    if lead.stage in _STAGE_EXITS:
        _finish(delivery, Delivery.Status.CANCELLED, f"lead is {lead.stage}")
        exit_enrollments(lead_id=lead.pk, reason=_STAGE_EXITS[lead.stage])
        return "exited"
    # Re-read here, not only when the lead turned hot: that exit may have run before this
    # enrollment existed, or the lead may have turned hot after this row was queued.
    handed_off = exits.handed_to_sales(lead=lead, sequence=sequence)
    if handed_off is not None and not exits.is_confirmation(step):
        _finish(delivery, Delivery.Status.SKIPPED, f"handed to sales: {handed_off}")
        exit_enrollments(lead_id=lead.pk, reason=Enrollment.ExitReason.HANDED_TO_SALES,
                         sequence_id=sequence.pk)  # fmt: skip
        return "handed to sales"
    if sequence.status != sequence.Status.ACTIVE:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now()
        )
        return "paused"
    if step.only_temperatures and lead.temperature not in step.only_temperatures:
        _finish(delivery, Delivery.Status.SKIPPED, f"condition: lead is {lead.temperature}")
        _complete_if_done(enrollment_id=enrollment.pk)
        return "skipped"
    if step.click_condition and not _click_condition_met(delivery):
        _finish(
            delivery, Delivery.Status.SKIPPED, f"condition: {step.get_click_condition_display()}"
        )
        _complete_if_done(enrollment_id=enrollment.pk)
        return "skipped"
    return None


def _click_condition_met(delivery: Delivery) -> bool:
    previous = (
        Delivery.objects.filter(enrollment=delivery.enrollment_id, step__day__lt=delivery.step.day)
        .order_by("-step__day")
        .first()
    )
    clicked = previous is not None and previous.clicked_at is not None
    return clicked if delivery.step.click_condition == Step.ClickCondition.CLICKED else not clicked


def _record_sent(*, delivery: Delivery, message_id: str) -> None:
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.SENT, sent_at=now, message_id=message_id,
        attempts=delivery.attempts + 1, status_changed_at=now, last_error="",
    )  # fmt: skip
    _wake_journey(delivery)
    _complete_if_done(enrollment_id=delivery.enrollment_id)


def _record_failure(*, delivery: Delivery, failure: SendFailure, now: datetime) -> str:
    attempts = delivery.attempts + 1
    if failure.temporary and attempts < settings.NURTURE_MAX_ATTEMPTS:
        backoff = timedelta(seconds=settings.NURTURE_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED, due_at=now + backoff, attempts=attempts,
            last_error=failure.reason[:2000], status_changed_at=timezone.now(),
        )  # fmt: skip
        logger.info("delivery %s: temporary failure, retry in %s: %s", delivery.pk, backoff,
                    failure.reason)  # fmt: skip
        return "retry"
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED, attempts=attempts, last_error=failure.reason[:2000],
        status_changed_at=timezone.now(),
    )  # fmt: skip
    logger.warning("delivery %s failed: %s", delivery.pk, failure.reason)
    _wake_journey(delivery)
    if failure.bounced:
        from nurture.services.engagement import suppress

        suppress(email=delivery.enrollment.lead.email, reason=Suppression.Reason.BOUNCED,
                 detail=failure.reason)  # fmt: skip
    return "failed"


def _finish(delivery: Delivery, status: str, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=status, last_error=reason, status_changed_at=timezone.now()
    )
    _wake_journey(delivery)


def _wake_journey(delivery: Delivery) -> None:
    """A journey's email is done (sent, skipped, failed): its lead moves on at the next tick."""
    if delivery.node_id is not None:
        Enrollment.objects.filter(
            pk=delivery.enrollment_id, current_node_id=delivery.node_id,
            state=Enrollment.State.ACTIVE,
        ).update(next_at=timezone.now())  # fmt: skip


def _complete_if_done(*, enrollment_id: int) -> None:
    # One conditional UPDATE: two last deliveries finishing at once cannot both miss it.
    pending = Delivery.objects.filter(
        enrollment_id=OuterRef("pk"),
        status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING],
    )
    # A journey's enrollment ends at its last node, not when it has no email pending.
    Enrollment.objects.filter(
        pk=enrollment_id, state=Enrollment.State.ACTIVE, current_node__isnull=True
    ).exclude(Exists(pending)).update(state=Enrollment.State.COMPLETED, ended_at=timezone.now())
