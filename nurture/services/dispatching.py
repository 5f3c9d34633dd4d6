"""Handing due deliveries to workers. The schedule lives in PostgreSQL; the broker only
ever carries "send delivery N now", so a lost message delays an email but never drops it.
"""

import logging
import time
from collections.abc import Sequence as Ids
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from nurture import queueing
from nurture.models import Delivery
from nurture.models import Sequence as NurtureSequence
from nurture.services import exits
from nurture.services.exiting import expire_unconfirmed

logger = logging.getLogger(__name__)
# After a failed publish, this process leaves deliveries to the next tick for a while
# instead of waiting on a dead broker again (redis-py retries a refused connection for ~2 s).
BROKER_RETRY_AFTER_SECONDS = 10.0
_broker_down_until = 0.0


@dataclass(frozen=True)
class DispatchResult:
    reclaimed: int
    claimed: list[int]


def hand_out_on_commit(*, delivery_ids: Ids[int]) -> None:
    if delivery_ids:
        ids = list(delivery_ids)
        transaction.on_commit(lambda: hand_out(delivery_ids=ids))


def hand_out(*, delivery_ids: Ids[int], spacing: float = 0.0) -> int:
    """Enqueue one send task per batch of deliveries; a broker failure is logged, never raised.

    A batch (NURTURE_SEND_BATCH rows) is sent by one worker over one SMTP connection. What
    could not be published goes back to `scheduled` at once, so the next tick sends it.
    `spacing` (a per-second quota) shrinks the batches to a second's worth and spreads them
    over the seconds until the next tick; such a countdown is a few seconds at most, never
    the schedule itself.
    """
    global _broker_down_until  # one breaker per process
    ids = list(delivery_ids)
    if time.monotonic() < _broker_down_until:
        # The broker failed moments ago: do not make every request wait on it again.
        _back_to_scheduled(ids)
        return 0
    size = max(int(1 / spacing), 1) if spacing else max(settings.NURTURE_SEND_BATCH, 1)
    published = 0
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        countdown = round(start * spacing, 3) if spacing else None
        # retry=False: fail fast (the broker connect timeout is set in settings).
        if not queueing.send_on(queueing.SEND_BATCH, batch, countdown=countdown):
            logger.warning("%s deliveries left for the next tick", len(ids) - start)
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            _back_to_scheduled(ids[start:])
            break
        published += len(batch)
    return published


def _back_to_scheduled(delivery_ids: Ids[int]) -> None:
    Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now()
    )


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
    same row. When more is due than the limit allows, each sequence gets a fair share, so a
    big campaign cannot starve a small one.
    """
    now = now or timezone.now()
    due = _due(now=now)
    shares = _fair_shares(due=due, limit=limit, now=now)
    claimed: list[int] = []
    with transaction.atomic():
        for sequence_id, share in shares.items():
            rows = due if sequence_id is None else due.filter(enrollment__sequence_id=sequence_id)
            claimed += _queue(rows.select_for_update(skip_locked=True, of=("self",)), share, now)
    return claimed


def _queue(locking: QuerySet[Delivery], share: int, now: datetime) -> list[int]:
    """Lock up to `share` of these rows, earliest due first, and mark them queued."""
    if db.vendor != "postgresql":
        ids = list(locking.order_by("due_at").values_list("pk", flat=True)[:share])
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.QUEUED, status_changed_at=now
        )
        return ids
    # One statement that updates the rows it has just locked by their place in the table
    # (ctid): no second lookup of each id through the primary key, the part of the claim
    # that grew most with the table (a locked row cannot move before the UPDATE reaches it).
    table = Delivery._meta.db_table  # the model's own name, never input
    addresses = (
        locking.order_by("due_at")
        .annotate(address=RawSQL(f"{table}.ctid", []))  # noqa: S611 - a column, no input
        .values_list("address", flat=True)[:share]
    )
    select, params = addresses.query.sql_with_params()
    sql = (
        f"UPDATE {table} SET status = %s, status_changed_at = %s"  # noqa: S608
        f" WHERE ctid = ANY(ARRAY({select})) AND status = %s RETURNING id, due_at"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [Delivery.Status.QUEUED, now, *params, Delivery.Status.SCHEDULED])
        # Earliest due first, as the SELECT locked them: the first batches handed out.
        return [pk for pk, _due_at in sorted(cursor.fetchall(), key=lambda row: row[1])]


def sending_allowance(*, now: datetime | None = None) -> int:
    """How many deliveries this tick may hand out under the ESP quotas (per hour, second)."""
    now = now or timezone.now()
    # Backpressure: what is still queued counts against the batch, so slow workers are not
    # handed rows that would outlive their lease and be published again.
    in_flight = Delivery.objects.filter(status=Delivery.Status.QUEUED).count()
    allowance: int = max(settings.NURTURE_DISPATCH_BATCH - in_flight, 0)
    if settings.NURTURE_MAX_PER_HOUR:
        recent = Delivery.objects.filter(
            Q(sent_at__gte=now - timedelta(hours=1))
            | Q(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING])
        ).count()
        allowance = min(allowance, max(settings.NURTURE_MAX_PER_HOUR - recent, 0))
    if settings.NURTURE_MAX_PER_SECOND:
        per_tick = int(settings.NURTURE_MAX_PER_SECOND * settings.NURTURE_TICK_SECONDS)
        allowance = min(allowance, max(per_tick, 1))
    return allowance


def hand_out_due(*, limit: int | None = None, now: datetime | None = None) -> DispatchResult:
    reclaimed = reclaim_stale(now=now)
    expire_unconfirmed(now=now)
    allowance = sending_allowance(now=now) if limit is None else limit
    claimed = claim_due_deliveries(limit=allowance, now=now) if allowance else []
    per_second = settings.NURTURE_MAX_PER_SECOND
    hand_out(delivery_ids=claimed, spacing=1 / per_second if per_second else 0.0)
    return DispatchResult(reclaimed=reclaimed, claimed=claimed)


def _due(*, now: datetime) -> QuerySet[Delivery]:
    waiting_for_confirmation = Q(enrollment__needs_confirmation=True) & Q(
        enrollment__confirmed_at__isnull=True
    )
    return Delivery.objects.filter(
        exits.deliverable(),
        status=Delivery.Status.SCHEDULED,
        due_at__lte=now,
        enrollment__sequence__status=NurtureSequence.Status.ACTIVE,
    ).exclude(waiting_for_confirmation & ~Q(step__day=1) & ~Q(step__transactional=True))


def _fair_shares(*, due: QuerySet[Delivery], limit: int, now: datetime) -> dict[int | None, int]:
    """Split `limit` across sequences by water-filling: small ones get all they need."""
    # Cheap first look through the due index alone (no join: at a million rows the joined
    # form sometimes got a plan that read every enrollment): counting per sequence only
    # pays off when more is due than this tick can take. Rows the joins would drop count
    # here too, which at worst counts per sequence when it need not.
    scheduled = Delivery.objects.filter(status=Delivery.Status.SCHEDULED, due_at__lte=now)
    if scheduled.order_by()[: limit + 1].count() <= limit:
        return {None: limit}
    counts = dict(
        due.order_by()
        .values_list("enrollment__sequence_id")
        .annotate(n=Count("pk"))
        .values_list("enrollment__sequence_id", "n")
    )
    if sum(counts.values()) <= limit:
        return {None: limit}
    shares: dict[int | None, int] = {}
    remaining = limit
    pending = sorted(counts.items(), key=lambda item: item[1])
    while pending and remaining > 0:
        share = max(remaining // len(pending), 1)
        sequence_id, need = pending.pop(0)
        shares[sequence_id] = min(need, share)
        remaining -= shares[sequence_id]
    return shares
