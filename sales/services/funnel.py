"""The funnel's facts per lead (FunnelFact), recounted from the source tables as leads move.

What moves a lead through the funnel is written by five apps, bulk loaders and the admin: a
capture, a score change, an enrollment, the Day-1 email's send (no signal at all), a booking, a
call, a stage move. Rather than a hook in each, PostgreSQL triggers (migration 0011) note the
lead in FunnelRecount in the writing transaction, and `recount_pending` recounts those leads
set-based: every minute from beat, and before the metrics are read, so the page never shows a
figure older than the data. The hourly rollup (FunnelHour) follows the facts by trigger too.
SQLite (`make run`) has no triggers: there the metrics recount their window's leads first.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least

from capture.models import Lead, Submission
from nurture.models import Delivery, Enrollment
from sales.models import Booking, FunnelFact, LeadChange, Note
from scoring.models import ScoreChange

logger = logging.getLogger(__name__)

HOT, WARM = Lead.Temperature.HOT, Lead.Temperature.WARM
CHUNK = 5000
FACT_FIELDS = (
    "created_at",
    "campaign_id",
    "source",
    "medium",
    "nurtured",
    "quality",
    "hot",
    "booked",
    "won",
    "first_email_at",
    "first_contact_at",
)


def fact_expressions() -> dict[str, Any]:
    """Each fact as an expression on the outer lead: the recount, and the one definition of
    what the metrics count."""
    lead = OuterRef("pk")
    first_call = Note.objects.filter(lead=lead, kind=Note.Kind.CALL).order_by("created_at")
    first_contacted = LeadChange.objects.filter(
        lead=lead, field=LeadChange.Field.STAGE, new_value=Lead.Stage.CONTACTED
    ).order_by("at")
    call_at = Subquery(first_call.values("created_at")[:1])
    contacted_at = Subquery(first_contacted.values("at")[:1])
    reached_warm = Exists(ScoreChange.objects.filter(lead=lead, new_temperature__in=[WARM, HOT]))
    reached_hot = Exists(ScoreChange.objects.filter(lead=lead, new_temperature=HOT))
    first_submission = Submission.objects.filter(lead=lead).order_by("created_at", "pk")
    return {
        # Attribution is the first submission's medium, whatever later touches say.
        "medium": Subquery(first_submission.values("utm_medium")[:1]),
        "nurtured": Exists(Enrollment.objects.filter(lead=lead)),
        "quality": ExpressionWrapper(
            Q(reached_warm) | Q(temperature__in=[WARM, HOT]), output_field=BooleanField()
        ),
        "hot": ExpressionWrapper(Q(reached_hot) | Q(temperature=HOT), output_field=BooleanField()),
        "booked": Exists(Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED)),
        "won": ExpressionWrapper(Q(stage=Lead.Stage.WON), output_field=BooleanField()),
        "first_email_at": Subquery(
            Delivery.objects.filter(enrollment__lead=lead, step__day=1, sent_at__isnull=False)
            .order_by("sent_at")
            .values("sent_at")[:1]
        ),
        # LEAST ignores NULLs on PostgreSQL but not on SQLite: coalesce each side first.
        "first_contact_at": Least(Coalesce(call_at, contacted_at), Coalesce(contacted_at, call_at)),
    }


def recount_leads(*, lead_ids: Iterable[int]) -> int:
    """Recount these leads' facts from the source tables; write only the ones that changed
    (each write moves the hourly rollup). Returns how many changed."""
    ids = sorted(set(lead_ids))
    changed = 0
    for at in range(0, len(ids), CHUNK):
        changed += _recount_chunk(ids[at : at + CHUNK])
    return changed


def _recount_chunk(ids: list[int]) -> int:
    counted = {
        row["pk"]: row
        for row in Lead.objects.filter(pk__in=ids)
        .annotate(**fact_expressions())
        .values("pk", *FACT_FIELDS)
        .order_by()
    }
    stored = {
        row["lead_id"]: row
        for row in FunnelFact.objects.filter(lead_id__in=ids).values("lead_id", *FACT_FIELDS)
    }
    writes = [
        FunnelFact(lead_id=lead_id, **{name: row[name] for name in FACT_FIELDS})
        for lead_id, row in counted.items()
        if lead_id not in stored or any(row[n] != stored[lead_id][n] for n in FACT_FIELDS)
    ]
    gone = [lead_id for lead_id in stored if lead_id not in counted]
    with transaction.atomic():
        if writes:
            FunnelFact.objects.bulk_create(
                writes,
                update_conflicts=True,
                unique_fields=["lead"],
                update_fields=list(FACT_FIELDS),
            )
        if gone:
            FunnelFact.objects.filter(lead_id__in=gone).delete()
    return len(writes) + len(gone)


def recount_pending(*, limit: int = CHUNK) -> int:
    """Recount the leads the triggers noted, a chunk per transaction until none is left.

    A chunk's rows are taken with SKIP LOCKED and deleted in the transaction that recounts
    them: two callers never recount the same lead at once, and a lead that moves again while
    it is being recounted is noted again (its insert waits for our delete) and recounted
    next time. Returns how many leads were recounted."""
    if connection.vendor != "postgresql":
        return 0
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM sales_funnelrecount WHERE lead_id IN ("
                " SELECT lead_id FROM sales_funnelrecount ORDER BY lead_id"
                " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING lead_id",
                [limit],
            )
            ids = [lead_id for (lead_id,) in cursor.fetchall()]
            if not ids:
                return done
            _recount_chunk(sorted(ids))
        done += len(ids)


def recount_window(*, start: datetime, end: datetime) -> int:
    """SQLite: no triggers note the moves, so recount every lead the window may count (those
    captured in it, and those whose stored facts say so)."""
    ids = set(
        Lead.objects.filter(created_at__gte=start, created_at__lt=end).values_list("pk", flat=True)
    )
    ids.update(
        FunnelFact.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
            "lead_id", flat=True
        )
    )
    return recount_leads(lead_ids=ids)


def rebuild_funnel_facts(*, since: datetime | None = None) -> int:
    """Recount every lead (captured since `since`, when given): after a restore, a bulk load
    with the triggers off, or a change of what a fact means. Keyset chunks, one transaction
    each, so the live site keeps writing meanwhile."""
    leads = Lead.objects.order_by("pk")
    if since is not None:
        leads = leads.filter(created_at__gte=since)
    last, done = 0, 0
    while True:
        ids = list(leads.filter(pk__gt=last).values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        done += _recount_chunk(ids)
        last = ids[-1]
    if since is None:
        FunnelFact.objects.exclude(lead_id__in=Lead.objects.values("pk")).delete()
    return done


def recount_pending_logged() -> None:
    """For the metrics read: a failed recount leaves the rows noted for the next one."""
    try:
        recount_pending()
    except Exception:
        logger.exception("Recounting the funnel facts of moved leads failed")
