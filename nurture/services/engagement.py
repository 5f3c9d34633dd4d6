"""What prospects do with our emails: open, click, unsubscribe; and what bounces do."""

import fnmatch
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import record_activity
from nurture.models import Delivery, Enrollment, Suppression
from nurture.services.scheduling import exit_enrollments
from nurture.signals import lead_unsubscribed

# Mail security scanners fetch every link of a message as it arrives; people do not.
_SCANNER_AGENTS = ("*barracuda*", "*proofpoint*", "*mimecast*", "*safelinks*", "*symantec*",
                   "*trendmicro*", "*bot*", "*crawler*", "*spider*", "*python-requests*",
                   "*curl/*", "*wget*", "*headless*")  # fmt: skip


@dataclass(frozen=True)
class ClickResult:
    url: str
    automated: bool


def suppress(*, email: str, reason: str, detail: str = "") -> Suppression:
    """Never mail this address again: suppression is checked at send time, too."""
    suppression, _ = Suppression.objects.get_or_create(
        email=email.strip().lower(), defaults={"reason": reason, "detail": detail[:2000]}
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
            record_activity(lead=lead, kind=Activity.Kind.UNSUBSCRIBED,
                            metadata={"delivery_id": delivery_id})  # fmt: skip
            transaction.on_commit(lambda: lead_unsubscribed.send(sender=Lead, lead_id=lead.pk))
    return lead


def record_open(*, delivery_id: int) -> None:
    delivery = Delivery.objects.select_related("enrollment__lead", "step").filter(pk=delivery_id)
    found = delivery.first()
    if found is None:
        return
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
    record_activity(lead=found.enrollment.lead, kind=Activity.Kind.EMAIL_OPENED,
                    metadata={"delivery_id": delivery_id, "step": found.step.subject})  # fmt: skip


def record_click(*, delivery_id: int, url: str, user_agent: str) -> ClickResult:
    """Record a click on a signed link. Scanner clicks are kept apart and not scored."""
    found = Delivery.objects.select_related("enrollment__lead", "step").filter(pk=delivery_id)
    delivery = found.first()
    if delivery is None:
        return ClickResult(url=url, automated=True)
    now = timezone.now()
    automated = _looks_automated(delivery=delivery, user_agent=user_agent, now=now)
    metadata = {"delivery_id": delivery_id, "link": url, "step": delivery.step.subject}
    if automated:
        record_activity(lead=delivery.enrollment.lead, kind=Activity.Kind.CUSTOM,
                        metadata={"event": "automated_click", **metadata,
                                  "user_agent": user_agent[:300]})  # fmt: skip
    else:
        Delivery.objects.filter(pk=delivery_id, clicked_at__isnull=True).update(clicked_at=now)
        record_activity(lead=delivery.enrollment.lead, kind=Activity.Kind.EMAIL_CLICKED,
                        metadata=metadata)  # fmt: skip
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
    email = (recipient or (delivery.enrollment.lead.email if delivery else "")).lower()
    if event_type in ("bounced", "rejected", "complained", "unsubscribed") and email:
        reason = {
            "complained": Suppression.Reason.COMPLAINED,
            "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
        }.get(event_type, Suppression.Reason.BOUNCED)
        suppress(email=email, reason=reason, detail=description)
        lead = Lead.objects.filter(email=email).first()
        if lead is not None and event_type in ("bounced", "rejected", "complained"):
            record_activity(lead=lead, kind=Activity.Kind.EMAIL_BOUNCED, metadata={
                "event": event_type, "delivery_id": delivery.pk if delivery else None,
                "description": description[:500],
            })  # fmt: skip
        return "suppressed"
    if delivery is None:
        return "ignored"
    if event_type == "opened":
        record_open(delivery_id=delivery.pk)
        return "opened"
    if event_type == "clicked" and url:
        record_click(delivery_id=delivery.pk, url=url, user_agent=user_agent)
        return "clicked"
    return "ignored"
