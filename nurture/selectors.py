"""Nurture's reads shared by admin, dashboard and API."""

from django.db.models import BigIntegerField, Count, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from capture.models import Activity
from nurture.models import Delivery


def step_figures(*, step_id: int) -> dict[str, int]:
    """Scheduled, sent, opened, clicked, unsubscribed, bounced and booked-after, per step."""
    figures = Delivery.objects.filter(step_id=step_id).aggregate(
        scheduled=Count("pk", filter=Q(status__in=["scheduled", "queued", "sending"])),
        sent=Count("pk", filter=Q(status="sent")),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        failed=Count("pk", filter=Q(status="failed")),
    )
    delivery_ids = Delivery.objects.filter(step_id=step_id).values("pk")
    by_kind = dict(
        Activity.objects.filter(kind__in=[Activity.Kind.UNSUBSCRIBED, Activity.Kind.EMAIL_BOUNCED])
        .alias(delivery_id=Cast(KT("metadata__delivery_id"), BigIntegerField()))
        .filter(delivery_id__in=delivery_ids)
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    booked = Delivery.objects.filter(
        step_id=step_id, status="sent",
        enrollment__lead__activities__kind=Activity.Kind.BOOKING_MADE,
    ).values("enrollment__lead").distinct().count()  # fmt: skip
    return {
        **figures,
        "unsubscribed": by_kind.get(Activity.Kind.UNSUBSCRIBED, 0),
        "bounced": by_kind.get(Activity.Kind.EMAIL_BOUNCED, 0),
        "booked after": booked,
    }
