"""Handing due deliveries to workers. The schedule lives in PostgreSQL; the broker only
ever carries "send delivery N now", so a lost message delays an email but never drops it.
"""

import logging
from collections.abc import Sequence as Ids
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nurture.models import Delivery, Enrollment
from nurture.models import Sequence as NurtureSequence

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchResult:
    reclaimed: int
    claimed: list[int]


def publish_on_commit(*, delivery_ids: Ids[int]) -> None:
    if delivery_ids:
        ids = list(delivery_ids)
        transaction.on_commit(lambda: publish(delivery_ids=ids))


def publish(*, delivery_ids: Ids[int]) -> int:
    """Enqueue one send task per delivery; a broker failure is logged, never raised.

    What could not be published goes back to `scheduled` at once, so the next tick sends it.
    """
    from nurture.tasks import send_delivery

    published = 0
    for index, delivery_id in enumerate(delivery_ids):
        try:
            # retry=False: fail fast (the broker connect timeout is set in settings).
            send_delivery.apply_async(args=[delivery_id], retry=False)
            published += 1
        except Exception:
            # Broad on purpose: kombu and redis raise many kinds when the broker is down.
            logger.warning("broker unreachable; %s deliveries left for the next tick",
                           len(delivery_ids) - index, exc_info=True)  # fmt: skip
            Delivery.objects.filter(
                pk__in=delivery_ids[index:], status=Delivery.Status.QUEUED
            ).update(status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now())
            break
    return published


def reclaim_stale(*, now: datetime | None = None) -> int:
    """Rows stuck in queued or sending past the lease go back to scheduled.

    A lost broker message leaves a row queued; a killed worker leaves one sending. Reclaiming
    a `sending` row may resend the one email that was in flight when its worker died.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.NURTURE_LEASE_SECONDS)
    return Delivery.objects.filter(
        Q(status=Delivery.Status.QUEUED) | Q(status=Delivery.Status.SENDING),
        status_changed_at__lt=now - lease,
    ).update(status=Delivery.Status.SCHEDULED, status_changed_at=now)


def claim_due_deliveries(*, limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due rows: scheduled → queued, skipping rows another claimer holds.

    `SELECT … FOR UPDATE SKIP LOCKED` lets two dispatchers run at once without taking the
    same row; the conditional UPDATE afterwards is belt and braces.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=Delivery.Status.SCHEDULED,
                due_at__lte=now,
                enrollment__state=Enrollment.State.ACTIVE,
                enrollment__sequence__status=NurtureSequence.Status.ACTIVE,
            )
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.QUEUED, status_changed_at=now
        )
    return ids


def dispatch_due(*, limit: int | None = None, now: datetime | None = None) -> DispatchResult:
    reclaimed = reclaim_stale(now=now)
    claimed = claim_due_deliveries(limit=limit or settings.NURTURE_DISPATCH_BATCH, now=now)
    publish(delivery_ids=claimed)
    return DispatchResult(reclaimed=reclaimed, claimed=claimed)
