"""Wait nodes: a delay after the previous node, or until an event with a timeout."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max

from capture.models import Activity
from nurture.models import Delivery, Node
from nurture.services import conditions, timing
from nurture.services.nodes.base import Context, End, Go, NodeNames, Outcome, Visit, Wait, registry
from nurture.services.scheduling import compute_due_at

DEFAULT_TIMEOUT = {"amount": 3, "unit": timing.DAYS}


def delay_until(*, node: Node, visit: Visit, delay: Mapping[str, Any]) -> datetime:
    enrollment = visit.enrollment
    zone = timing.zone_of(enrollment)
    amount, unit = int(delay.get("amount", 1)), delay.get("unit", timing.DAYS)
    if unit == timing.JOURNEY_DAY:
        # A migrated day list: "Day N" counts from enrollment, as it always did.
        start = enrollment.confirmed_at or enrollment.started_at
        return compute_due_at(
            enrolled_at=start, day=amount, zone=zone, sequence=enrollment.sequence
        )
    return timing.add_delay(start=visit.at, amount=amount, unit=unit, zone=zone)


@registry.register(Node.Kind.WAIT)
def run_wait(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    for visit in visits:
        if not visit.arriving:
            # Leave at the time the wait ended, not at the tick's (a few seconds later), so
            # the delays after it count from the marketer's schedule.
            due = getattr(visit.enrollment, "next_at", None)
            left = min(due, ctx.now) if due is not None else None
            outcomes[visit.enrollment.pk] = Go(note="waited", at=left)
            continue
        until = delay_until(node=node, visit=visit, delay=node.config)
        if ctx.dry_run or until <= ctx.now:
            outcomes[visit.enrollment.pk] = Go(note="waited", at=max(until, visit.at))
        else:
            outcomes[visit.enrollment.pk] = Wait(until=until)
    return outcomes


@registry.register(Node.Kind.WAIT_UNTIL)
def run_wait_until(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    """Ports: "yes" when the event happened after the lead arrived, "timeout" otherwise."""
    condition = node.config.get("event") or {"field": "clicked"}
    timeout = node.config.get("timeout") or DEFAULT_TIMEOUT
    described = conditions.describe(condition, node_names=NodeNames(ctx))
    outcomes: dict[int, Outcome] = {}
    if ctx.dry_run:
        # The future is unknown: a dry run shows the timed-out path, and says so.
        for visit in visits:
            until = delay_until(node=node, visit=visit, delay=timeout)
            outcomes[visit.enrollment.pk] = Go(
                "timeout", f"assumed: no “{described}” in time", at=until
            )
        return outcomes
    by_entry: dict[datetime, list[Visit]] = {}
    for visit in visits:
        entered = visit.at if visit.arriving else visit.enrollment.node_entered_at or visit.at
        by_entry.setdefault(entered, []).append(visit)
    # One query per distinct arrival time would be per lead; instead ask once, from the
    # earliest arrival, then check each lead's event time against its own arrival.
    earliest = min(by_entry) if by_entry else ctx.now
    happened = _event_times(condition=condition, visits=visits, since=earliest, now=ctx.now)
    for entered, group in by_entry.items():
        for visit in group:
            enrollment = visit.enrollment
            at = happened.get(enrollment.lead_id)
            if at is not None and at >= entered:
                outcomes[enrollment.pk] = Go("yes", f"{described} → yes")
                continue
            deadline = delay_until(node=node, visit=_Visit(visit, entered), delay=timeout)
            if deadline <= ctx.now:
                outcomes[enrollment.pk] = Go("timeout", f"no “{described}” in time → timed out")
            else:
                outcomes[enrollment.pk] = Wait(until=deadline)
    return outcomes


def _event_times(
    *, condition: Mapping[str, Any], visits: list[Visit], since: datetime, now: datetime
) -> dict[int, datetime]:
    """The latest matching event per lead since `since` (leads without one are absent)."""
    lead_ids = [visit.enrollment.lead_id for visit in visits]
    field = condition.get("field")
    if field in {"clicked", "opened"}:
        column = "clicked_at" if field == "clicked" else "opened_at"
        sent = Delivery.objects.filter(
            enrollment__lead_id__in=lead_ids, **{f"{column}__gte": since}
        )
        if condition.get("node"):
            sent = sent.filter(node_id=int(condition["node"]))
        else:
            journey_ids = {visit.enrollment.sequence_id for visit in visits}
            sent = sent.filter(enrollment__sequence_id__in=journey_ids)
        return dict(sent.values_list("enrollment__lead_id").annotate(at=Max(column)))
    kind = Activity.Kind.BOOKING_MADE if field == "booked" else Activity.Kind.PAGE_VIEWED
    if field == "replied":
        kind = Activity.Kind.CUSTOM
    rows = Activity.objects.filter(lead_id__in=lead_ids, kind=kind, occurred_at__gte=since)
    if field == "visited":
        rows = rows.filter(
            metadata__url__iregex=conditions.url_regex(str(condition.get("url", "")))
        )
    if field == "replied":
        rows = rows.filter(metadata__name="email_replied")
    return dict(rows.values_list("lead_id").annotate(at=Max("occurred_at")))


def _Visit(visit: Visit, entered: datetime) -> Visit:
    return Visit(enrollment=visit.enrollment, at=entered, arriving=True)


__all__ = ["End", "delay_until", "timedelta"]
