"""Sending one delivery: claim it, re-check that it should still go, render, send, record."""

import email.policy
import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from capture.models import Lead
from nurture import tokens
from nurture.models import Delivery, Enrollment, Step, Suppression
from nurture.rendering import RenderedEmail, merge, render_email, rewrite_links

logger = logging.getLogger(__name__)
_STAGE_EXITS = {
    Lead.Stage.BOOKED: Enrollment.ExitReason.BOOKED,
    Lead.Stage.WON: Enrollment.ExitReason.WON,
    Lead.Stage.LOST: Enrollment.ExitReason.LOST,
}


class NurtureMessage(EmailMultiAlternatives):
    def message(self, *, policy: email.policy.Policy = email.policy.default) -> Any:
        # At 78 columns Python folds a long List-Unsubscribe URL into RFC 2047 encoded words,
        # which mail clients do not read as a URL: keep header lines whole (RFC 5322: 998).
        return super().message(policy=policy.clone(max_line_length=998))


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


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str


def build_message(*, delivery: Delivery) -> EmailMultiAlternatives:
    lead, sequence, step = delivery.enrollment.lead, delivery.enrollment.sequence, delivery.step
    token = tokens.unsubscribe_token(lead_id=lead.pk, delivery_id=delivery.pk)
    unsubscribe_url = _absolute(reverse("nurture:unsubscribe", args=[token]))
    track: Callable[[str], str] | None = None
    pixel_url = ""
    if sequence.track_engagement:

        def track(url: str) -> str:
            click = tokens.click_token(delivery_id=delivery.pk, url=url)
            return _absolute(reverse("nurture:click", args=[click]))

        pixel_url = _absolute(
            reverse("nurture:open", args=[tokens.open_token(delivery_id=delivery.pk)])
        )
    confirm_url = ""
    if delivery.enrollment.needs_confirmation and delivery.enrollment.confirmed_at is None:
        confirm_url = _absolute(
            reverse("nurture:confirm", args=[tokens.confirm_token(lead_id=lead.pk)])
        )
    composed = compose(step=step, lead=lead, unsubscribe_url=unsubscribe_url, track=track,
                       pixel_url=pixel_url, confirm_url=confirm_url)  # fmt: skip
    list_unsubscribe = f"<{unsubscribe_url}>"
    if settings.NURTURE_UNSUBSCRIBE_MAILTO:
        list_unsubscribe += f", <mailto:{settings.NURTURE_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    return _message(composed, to=lead.email, name=lead.full_name, headers={
        "List-Unsubscribe": list_unsubscribe,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    })  # fmt: skip


def compose(
    *,
    step: Step,
    lead: Lead,
    unsubscribe_url: str,
    track: Callable[[str], str] | None = None,
    pixel_url: str = "",
    confirm_url: str = "",
) -> ComposedEmail:
    """The step's email for `lead`: subject, text part and HTML part in the email layout.

    With `confirm_url` (double opt-in) the button asks the prospect to confirm instead.
    """
    context = merge_context(lead=lead, unsubscribe_url=unsubscribe_url)
    cta_label = "Confirm my email address" if confirm_url else step.cta_label
    rendered = render_email(subject=step.subject, preheader=step.preheader, body=step.body,
                            cta_label=cta_label, cta_url=confirm_url or step.cta_url,
                            context=context)  # fmt: skip
    cta_url = merge(step.cta_url, context, html=False) if step.cta_label else ""
    html_body = rendered.html_body
    if track is not None:
        html_body = rewrite_links(html_body, track)
        cta_url = track(cta_url) if cta_url else ""
    cta_url = confirm_url or cta_url
    layout = {
        "rendered": rendered,
        # Sanitised by nh3 in render_email; rewrite_links only swaps in escaped hrefs.
        "html_body": mark_safe(html_body),  # noqa: S308
        "cta_label": cta_label,
        "cta_url": cta_url,
        "unsubscribe_url": unsubscribe_url,
        "postal_address": settings.NURTURE_POSTAL_ADDRESS,
        "pixel_url": pixel_url,
    }
    return ComposedEmail(
        subject=rendered.subject,
        text=render_to_string("nurture/email.txt", layout),
        html=render_to_string("nurture/email.html", layout),
    )


def build_preview(*, step: Step, lead: Lead) -> ComposedEmail:
    return compose(step=step, lead=lead, unsubscribe_url=_absolute("/u/preview/"))


def send_test(*, step: Step, to: str, lead: Lead) -> None:
    """A marketer's test: the real layout for a sample lead, links untracked."""
    composed = build_preview(step=step, lead=lead)
    test = ComposedEmail(subject=f"[Test] {composed.subject}", text=composed.text,
                         html=composed.html)  # fmt: skip
    _message(test, to=to, name="", headers={}).send()


def _message(
    composed: ComposedEmail, *, to: str, name: str, headers: dict[str, str]
) -> EmailMultiAlternatives:
    from_domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    message = NurtureMessage(
        subject=composed.subject,
        body=composed.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((_one_line(name), to))],
        headers={"Message-ID": make_msgid(domain=from_domain), **headers},
    )
    message.attach_alternative(composed.html, "text/html")
    return message


def render_step(*, step: Step, lead: Lead, unsubscribe_url: str = "") -> RenderedEmail:
    return render_email(
        subject=step.subject,
        preheader=step.preheader,
        body=step.body,
        cta_label=step.cta_label,
        cta_url=step.cta_url,
        context=merge_context(lead=lead, unsubscribe_url=unsubscribe_url),
    )


def merge_context(*, lead: Lead, unsubscribe_url: str = "") -> dict[str, str]:
    """The only values an email template sees: the lead's public fields and its links."""
    booking = _absolute(f"/book/{tokens.booking_token(lead_uid=str(lead.uid))}/")
    return {
        "first_name": lead.first_name or "there",
        "last_name": lead.last_name,
        "full_name": lead.full_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "email": lead.email,
        "booking_url": booking,
        "unsubscribe_url": unsubscribe_url,
        "site_url": settings.SITE_URL,
    }


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
    from nurture.services.scheduling import exit_enrollments

    lead, enrollment, step = delivery.enrollment.lead, delivery.enrollment, delivery.step
    sequence = enrollment.sequence
    if enrollment.state == Enrollment.State.PAUSED:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now()
        )
        return "paused"
    if enrollment.state != Enrollment.State.ACTIVE or not step.is_active:
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
    if failure.bounced:
        from nurture.services.engagement import suppress

        suppress(email=delivery.enrollment.lead.email, reason=Suppression.Reason.BOUNCED,
                 detail=failure.reason)  # fmt: skip
    return "failed"


def _finish(delivery: Delivery, status: str, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=status, last_error=reason, status_changed_at=timezone.now()
    )


def _complete_if_done(*, enrollment_id: int) -> None:
    # One conditional UPDATE: two last deliveries finishing at once cannot both miss it.
    pending = Delivery.objects.filter(
        enrollment_id=OuterRef("pk"),
        status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING],
    )
    Enrollment.objects.filter(pk=enrollment_id, state=Enrollment.State.ACTIVE).exclude(
        Exists(pending)
    ).update(state=Enrollment.State.COMPLETED, ended_at=timezone.now())


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
