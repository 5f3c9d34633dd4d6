"""Email nodes: schedule the step's email at the next time the lead may get one.

"May" is: inside the journey's window in the lead's zone, not on a local day this journey
already emailed the lead (unless the node allows it), and within the frequency cap across
all journeys (transactional mail is exempt). The Delivery row is then sent by the usual
dispatcher and sender (suppression, exits and the hand-off re-checked at send time); the
enrollment waits here until the sender reports the email sent, skipped or failed.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce

from nurture.models import Delivery, Node
from nurture.services import timing
from nurture.services.nodes import Context, Go, Outcome, Visit, Wait, registry
from nurture.services.scheduling import lead_zone

FINAL = {
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
            calendar = _calendar(
                lead_ids={visit.enrollment.lead_id for visit in arriving}, now=ctx.now
            )
            for visit in arriving:
                outcomes[visit.enrollment.pk] = _schedule(node, visit, ctx, calendar)
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


def _schedule(node: Node, visit: Visit, ctx: Context, calendar: dict[int, list[Sent]]) -> Outcome:
    enrollment = visit.enrollment
    step = node.step
    zone = lead_zone(lead=enrollment.lead, sequence=enrollment.sequence)
    marketing = not step.transactional
    same_day_ok = bool(node.config.get("same_day_ok"))
    history = calendar[enrollment.lead_id]

    def blocked(day: date) -> bool:
        on_day = [sent for sent in history if timing.local_date(sent.at, zone) == day]
        if not same_day_ok and any(sent.journey_id == enrollment.sequence_id for sent in on_day):
            return True
        if not marketing:
            return False
        per_day, per_week = settings.NURTURE_CAP_PER_DAY, settings.NURTURE_CAP_PER_WEEK
        if per_day and sum(sent.marketing for sent in on_day) >= per_day:
            return True
        if per_week:
            week = [
                sent
                for sent in history
                if sent.marketing and 0 <= (day - timing.local_date(sent.at, zone)).days < 7
            ]
            if len(week) >= per_week:
                return True
        return False

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
    history.append(Sent(journey_id=enrollment.sequence_id, at=due, marketing=marketing))
    label = node.name or step.subject
    if ctx.dry_run:
        return Go(note=f"email “{label}”", at=due)
    immediate = due <= ctx.now
    ctx.add_delivery(
        Delivery(
            enrollment=enrollment,
            step=step,
            node=node,
            due_at=max(due, ctx.now),
            status=Delivery.Status.QUEUED if immediate else Delivery.Status.SCHEDULED,
            status_changed_at=ctx.now,
        )
    )
    return Wait(
        until=max(due, ctx.now) + BACKSTOP, note=f"email “{label}” due {due:%Y-%m-%d %H:%M} UTC"
    )


def _calendar(*, lead_ids: set[int], now: datetime) -> dict[int, list[Sent]]:
    """Each lead's emails from the last week on, sent or still to go, in one query."""
    calendar: dict[int, list[Sent]] = defaultdict(list)
    rows = (
        Delivery.objects.filter(
            enrollment__lead_id__in=lead_ids,
            status__in=[
                Delivery.Status.SCHEDULED,
                Delivery.Status.QUEUED,
                Delivery.Status.SENDING,
                Delivery.Status.SENT,
            ],
        )
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


__all__ = ["Q"]
