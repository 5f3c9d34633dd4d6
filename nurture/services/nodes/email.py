"""Email nodes: schedule the step's email at the next time the lead may get one.

"May" is: inside the journey's window in the lead's zone, not on a local day this journey
already emailed the lead (unless the node allows it), and within the frequency cap across
all journeys (transactional mail is exempt). The Delivery row is then sent by the usual
dispatcher and sender (suppression, exits and the hand-off re-checked at send time); the
enrollment waits here until the sender reports the email sent, skipped or failed.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.db.models.functions import Coalesce

from nurture.models import Delivery, Node
from nurture.services import timing
from nurture.services.nodes.base import Context, Go, Outcome, Visit, Wait, registry

FINAL: dict[str | None, str] = {
    Delivery.Status.SENT: "sent",
    Delivery.Status.SKIPPED: "skipped",
    Delivery.Status.CANCELLED: "cancelled",
    Delivery.Status.FAILED: "failed",
}
# The sender wakes the enrollment when its email is done; this is only the backstop.
BACKSTOP = timedelta(hours=1)
LOOKBACK = timedelta(days=8)


@dataclass
class Sent:
    journey_id: int
    at: datetime
    marketing: bool


# A send time, by what it depends on for a lead with an empty calendar (see _schedule).
SendTimeKey = tuple[datetime, ZoneInfo, int, bool]
# lead id, journey id, sent or due at, the step's transactional flag, its day (day lists).
CalendarRow = tuple[int, int, datetime, bool, int | None]


@dataclass(frozen=True, slots=True)
class Planned:
    """A Delivery to insert at the end of the pass (the tick writes them in one statement)."""

    enrollment_id: int
    step_id: int
    node_id: int
    due_at: datetime
    status: str


@registry.register(Node.Kind.EMAIL)
def run_email(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    arriving = [visit for visit in visits if visit.arriving]
    resuming = [visit for visit in visits if not visit.arriving]
    step = node.step
    if arriving:
        if step is None or not step.is_active:
            for visit in arriving:
                outcomes[visit.enrollment.pk] = Go(note="email switched off → skipped")
        else:
            calendar = _calendar_for(ctx, lead_ids={visit.enrollment.lead_id for visit in arriving})
            memo: dict[SendTimeKey, datetime] = {}
            for visit in arriving:
                outcomes[visit.enrollment.pk] = _schedule(node, visit, ctx, calendar, memo)
    if resuming:
        done = {
            enrollment_id: (status, at)
            for enrollment_id, status, at in Delivery.objects.filter(
                node=node, enrollment_id__in=[visit.enrollment.pk for visit in resuming]
            ).values_list("enrollment_id", "status", "status_changed_at")
        }
        for visit in resuming:
            status, at = done.get(visit.enrollment.pk, (None, None))
            if status is None or status in FINAL:
                # The next node's delay counts from when the email went, not from this tick.
                left = min(at, ctx.now) if at is not None else None
                outcomes[visit.enrollment.pk] = Go(
                    note=f"email {FINAL.get(status, 'missing')}", at=left
                )
            else:
                outcomes[visit.enrollment.pk] = Wait(until=ctx.now + BACKSTOP)
    return outcomes


def _schedule(
    node: Node,
    visit: Visit,
    ctx: Context,
    calendar: dict[int, list[Sent]],
    memo: dict[SendTimeKey, datetime],
) -> Outcome:
    enrollment = visit.enrollment
    step = node.step
    if step is None:
        raise ValueError(f"email node {node.pk} has no email (its step was deleted)")
    zone = timing.zone_of(enrollment)
    marketing = not step.transactional
    same_day_ok = bool(node.config.get("same_day_ok"))
    history = calendar[enrollment.lead_id]

    def blocked(day: date) -> bool:
        on_day = [sent for sent in history if timing.local_date(sent.at, zone) == day]
        if not same_day_ok and any(sent.journey_id == enrollment.sequence_id for sent in on_day):
            return True
        if not marketing or node.config.get("legacy"):
            # A migrated day list's steps keep their dates exactly (see day_lists).
            return False
        per_day, per_week = settings.NURTURE_CAP_PER_DAY, settings.NURTURE_CAP_PER_WEEK
        if per_day and sum(sent.marketing for sent in on_day) >= per_day:
            return True
        if per_week:
            # Every 7-day window holding this day, not only the week before it: a later
            # email may already be scheduled (another journey planned it first).
            marketing_days = [
                timing.local_date(sent.at, zone) for sent in history if sent.marketing
            ]
            for first in range(-6, 1):
                start = day + timedelta(days=first)
                if sum(0 <= (sent - start).days < 7 for sent in marketing_days) >= per_week:
                    return True
        return False

    # A lead with nothing around now in its calendar is blocked on no day: its send time
    # depends only on when, where and which journey, which a batch shares by the thousand.
    key = (visit.at, zone, enrollment.sequence_id, marketing) if not history else None
    due = memo.get(key) if key is not None else None
    if due is None:
        if step.transactional:
            due = visit.at  # the answer to the prospect's request: at once, whatever the hour
            if not same_day_ok and blocked(timing.local_date(due, zone)):
                due = timing.next_send_time(
                    earliest=due, zone=zone, journey=enrollment.sequence, blocked=blocked
                )
        else:
            due = timing.next_send_time(
                earliest=visit.at, zone=zone, journey=enrollment.sequence, blocked=blocked
            )
        if key is not None:
            memo[key] = due
    history.append(Sent(journey_id=enrollment.sequence_id, at=due, marketing=marketing))
    label = node.name or step.subject
    if ctx.dry_run:
        return Go(note=f"email “{label}”", at=due)
    immediate = due <= ctx.now
    ctx.add_delivery(
        Planned(
            enrollment_id=enrollment.pk,
            step_id=step.pk,
            node_id=node.pk,
            due_at=max(due, ctx.now),
            status=Delivery.Status.QUEUED if immediate else Delivery.Status.SCHEDULED,
        )
    )
    return Wait(
        until=max(due, ctx.now) + BACKSTOP, note=f"email “{label}” due {due:%Y-%m-%d %H:%M} UTC"
    )


def _calendar_for(ctx: Context, *, lead_ids: set[int]) -> dict[int, list[Sent]]:
    """The leads' calendars, shared by every email node of one pass: two journeys' emails
    planned in the same batch see each other before either is written."""
    shared: dict[int, list[Sent]] | None = getattr(ctx, "calendar", None)
    if shared is None:
        return _calendar(lead_ids=lead_ids, now=ctx.now)
    missing = lead_ids - shared.keys()
    if missing:
        loaded = _calendar(lead_ids=missing, now=ctx.now)
        for lead_id in missing:
            shared[lead_id] = loaded.get(lead_id, [])
    return shared


CALENDAR_STATUSES = [
    Delivery.Status.SCHEDULED,
    Delivery.Status.QUEUED,
    Delivery.Status.SENDING,
    Delivery.Status.SENT,
]


def _calendar(*, lead_ids: set[int], now: datetime) -> dict[int, list[Sent]]:
    """Each lead's emails from the last week on, sent or still to go, in one query."""
    calendar: dict[int, list[Sent]] = defaultdict(list)
    rows: Iterable[CalendarRow]
    if connection.vendor == "postgresql":
        rows = _calendar_rows(lead_ids=lead_ids, since=now - LOOKBACK)
    else:
        rows = (
            Delivery.objects.filter(enrollment__lead_id__in=lead_ids, status__in=CALENDAR_STATUSES)
            .annotate(at=Coalesce("sent_at", "due_at"))
            .filter(at__gte=now - LOOKBACK)
            .values_list(
                "enrollment__lead_id",
                "enrollment__sequence_id",
                "at",
                "step__transactional",
                "step__day",
            )
        )
    for lead_id, journey_id, at, transactional, day in rows:
        marketing = not transactional and day != 1
        calendar[lead_id].append(Sent(journey_id=journey_id, at=at, marketing=marketing))
    return calendar


def _calendar_rows(*, lead_ids: set[int], since: datetime) -> list[CalendarRow]:
    # Lead by lead through the indexes (LATERAL): a join the planner may hash would read the
    # whole delivery table once per batch, and a tick of 100 batches a hundred times.
    sql = (
        "SELECT e.lead_id, e.sequence_id, d.at, s.transactional, s.day"
        " FROM unnest(%s::bigint[]) AS l(lead)"
        " JOIN nurture_enrollment AS e ON e.lead_id = l.lead"
        " CROSS JOIN LATERAL (SELECT dd.step_id, COALESCE(dd.sent_at, dd.due_at) AS at"
        "   FROM nurture_delivery AS dd WHERE dd.enrollment_id = e.id"
        "   AND dd.status = ANY(%s) AND COALESCE(dd.sent_at, dd.due_at) >= %s OFFSET 0) AS d"
        " JOIN nurture_step AS s ON s.id = d.step_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(lead_ids), [str(s) for s in CALENDAR_STATUSES], since])
        rows: list[CalendarRow] = cursor.fetchall()
    return rows


__all__ = ["Q"]
