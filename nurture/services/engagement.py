"""What prospects do with our emails: open, click, unsubscribe; and what bounces do."""

import fnmatch
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import normalise_email, record_activity
from leadfunnel.announce import announce_on_commit
from nurture.models import Delivery, Enrollment, Suppression
from nurture.selectors import delivery_for_link
from nurture.services.composing import is_own_page, step_links
from nurture.services.exiting import exit_enrollments
from nurture.signals import lead_unsubscribed

# Mail security scanners fetch every link of a message as it arrives; people do not.
_SCANNER_AGENTS = (
    "*barracuda*",
    "*proofpoint*",
    "*mimecast*",
    "*safelinks*",
    "*symantec*",
    "*trendmicro*",
    "*bot*",
    "*crawler*",
    "*spider*",
    "*python-requests*",
    "*curl/*",
    "*wget*",
    "*headless*",
)


@dataclass(frozen=True)
class ClickResult:
    url: str
    automated: bool


def suppress(*, email: str, reason: str, detail: str = "") -> Suppression:
    """Never mail this address again: suppression is checked at send time, too."""
    suppression, _ = Suppression.objects.get_or_create(
        email=normalise_email(email), defaults={"reason": reason, "detail": detail[:2000]}
    )
    lead = Lead.objects.filter(email=suppression.email).first()
    if lead is not None:
        exit_reason = (
            Enrollment.ExitReason.UNSUBSCRIBED
            if reason == Suppression.Reason.UNSUBSCRIBED
            else Enrollment.ExitReason.SUPPRESSED
        )
        exit_enrollments(lead_id=lead.pk, reason=exit_reason)
    return suppression


def unsubscribe(*, lead_id: int, delivery_id: int | None = None) -> Lead:
    """One click: suppress the address, end every enrollment, record the activity."""
    lead = Lead.objects.get(pk=lead_id)
    with transaction.atomic():
        already = Suppression.objects.filter(email=lead.email).exists()
        suppress(email=lead.email, reason=Suppression.Reason.UNSUBSCRIBED)
        if not already:
            record_activity(
                lead=lead, kind=Activity.Kind.UNSUBSCRIBED, metadata={"delivery_id": delivery_id}
            )
            announce_on_commit(lead_unsubscribed, Lead, lead_id=lead.pk)
    return lead


def record_open(*, delivery_id: int, lead_uid: uuid.UUID | None) -> None:
    """An open of a delivery to the lead whose uid the pixel names; after erasure (a new
    uid) nothing is recorded."""
    found = delivery_for_link(delivery_id=delivery_id, lead_uid=lead_uid)
    if found is None:
        return
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
    record_activity(
        lead=found.enrollment.lead,
        kind=Activity.Kind.EMAIL_OPENED,
        metadata={"delivery_id": delivery_id, "step": found.step.subject},
    )


def follow_click(*, delivery_id: int, lead_uid: uuid.UUID | None, url: str, user_agent: str) -> str:
    """Where a tracked link leads, with the click recorded.

    Only to `url` when it is a link the step's author wrote, or one of our own pages: a
    click never leads anywhere else, whatever a token says. Otherwise (a link the marketer
    has since edited out of the step, or an erased lead, whose uid was renewed and whose
    link may carry the old address in its query) nothing is recorded and the click leads
    to the site's home page: a prospect following a real email never meets an error.
    """
    home = f"{settings.SITE_URL}/"
    delivery = delivery_for_link(delivery_id=delivery_id, lead_uid=lead_uid)
    if delivery is None:
        return home
    if not is_own_page(url) and url not in step_links(
        step=delivery.step, lead=delivery.enrollment.lead
    ):
        return home
    _record_click(delivery=delivery, url=url, user_agent=user_agent)
    return url


def record_click(*, delivery_id: int, url: str, user_agent: str) -> ClickResult:
    """Record a click an ESP reports (its own tracked link: there is no redirect of ours)."""
    found = Delivery.objects.select_related("enrollment__lead", "step").filter(pk=delivery_id)
    delivery = found.first()
    if delivery is None:
        return ClickResult(url=url, automated=True)
    return _record_click(delivery=delivery, url=url, user_agent=user_agent)


def _record_click(*, delivery: Delivery, url: str, user_agent: str) -> ClickResult:
    """Scanner clicks are kept apart and not scored."""
    now = timezone.now()
    automated = _looks_automated(delivery=delivery, user_agent=user_agent, now=now)
    metadata = {"delivery_id": delivery.pk, "link": url, "step": delivery.step.subject}
    if automated:
        record_activity(
            lead=delivery.enrollment.lead,
            kind=Activity.Kind.CUSTOM,
            metadata={"event": "automated_click", **metadata, "user_agent": user_agent[:300]},
        )
    else:
        Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(clicked_at=now)
        record_activity(
            lead=delivery.enrollment.lead, kind=Activity.Kind.EMAIL_CLICKED, metadata=metadata
        )
    return ClickResult(url=url, automated=automated)


def _looks_automated(*, delivery: Delivery, user_agent: str, now: object) -> bool:
    agent = user_agent.lower()
    if not agent or any(fnmatch.fnmatch(agent, pattern) for pattern in _SCANNER_AGENTS):
        return True
    quiet = timedelta(seconds=settings.NURTURE_SCANNER_WINDOW_SECONDS)
    return delivery.sent_at is not None and now - delivery.sent_at < quiet  # type: ignore[operator]


def record_esp_event(
    *,
    event_type: str,
    recipient: str,
    message_id: str,
    user_agent: str = "",
    url: str = "",
    description: str = "",
) -> str:
    """What an ESP's tracking webhook reports (via django-anymail), in our terms."""
    delivery = Delivery.objects.filter(message_id=message_id).first() if message_id else None
    # An ESP reports the address as it went on the wire (an IDN domain in punycode).
    email = normalise_email(recipient or (delivery.enrollment.lead.email if delivery else ""))
    if event_type in ("bounced", "rejected", "complained", "unsubscribed") and email:
        reason = {
            "complained": Suppression.Reason.COMPLAINED,
            "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
        }.get(event_type, Suppression.Reason.BOUNCED)
        suppress(email=email, reason=reason, detail=description)
        lead = Lead.objects.filter(email=email).first()
        if lead is not None and event_type in ("bounced", "rejected", "complained"):
            record_activity(
                lead=lead,
                kind=Activity.Kind.EMAIL_BOUNCED,
                metadata={
                    "event": event_type,
                    "delivery_id": delivery.pk if delivery else None,
                    "description": description[:500],
                },
            )
        return "suppressed"
    if delivery is None:
        return "ignored"
    if event_type == "opened":
        record_open(delivery_id=delivery.pk, lead_uid=delivery.enrollment.lead.uid)
        return "opened"
    if event_type == "clicked" and url:
        record_click(delivery_id=delivery.pk, url=url, user_agent=user_agent)
        return "clicked"
    return "ignored"
