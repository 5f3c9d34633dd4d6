"""Enrolling leads and computing when each step is due."""

import logging
from collections.abc import Sequence as Seq
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from capture.models import LandingPage, Lead
from leadfunnel.bulk_sql import insert_rows
from leadfunnel.zones import zone_or
from nurture.models import ConsentRecord, Delivery, Enrollment, Sequence, Step, Suppression
from nurture.services import exits
from nurture.services.dispatching import hand_out_on_commit
from nurture.services.exiting import LIVE_STATES, exit_enrollments
from nurture.services.triggers import enter_journey
from nurture.topic_selectors import blocked_topics, topic_blocks

logger = logging.getLogger(__name__)
# Enrollments that may still send: a paused one waits, but still exits and gets new steps.


def lead_zone(*, lead: Lead, sequence: Sequence) -> ZoneInfo:
    # An unknown zone falls back to the sequence's, not straight to UTC.
    return zone_or(lead.time_zone, sequence.fallback_time_zone)


def day_of(step: Step) -> int:
    """A day list's step's day (only a journey's email steps have none)."""
    if step.day is None:
        raise ValueError(f"step {step.pk} is a journey's email, not a day of a day list")
    return step.day


def compute_due_at(
    *, enrolled_at: datetime, day: int, zone: ZoneInfo, sequence: Sequence
) -> datetime:
    """When the step of `day` is due, in UTC.

    Day 1 is the confirmation and goes out at once, whatever the hour. Later days keep the
    local time of enrollment on the local calendar day `day - 1` later, then move forward
    into the sequence's window (hours and weekdays) in the lead's zone. Local wall-clock
    arithmetic keeps DST right: a 10:00 send stays at 10:00 across a change.
    """
    if day <= 1:
        return enrolled_at
    local = enrolled_at.astimezone(zone)
    target_date = local.date() + timedelta(days=day - 1)
    wall = local.time().replace(tzinfo=None)
    start, end = time(sequence.window_start_hour), sequence.window_end_hour
    if wall < start:
        wall = start
    elif end < 24 and wall >= time(end):
        target_date += timedelta(days=1)
        wall = start
    allowed = set(sequence.weekdays) or set(range(7))
    while target_date.weekday() not in allowed:
        target_date += timedelta(days=1)
        wall = start
    due_local = datetime.combine(target_date, wall, tzinfo=zone)
    # A wall time inside a spring-forward gap does not exist; round trip to a real instant.
    return due_local.astimezone(ZoneInfo("UTC"))


def enroll_lead(
    *,
    lead: Lead,
    sequence: Sequence,
    now: datetime | None = None,
    needs_confirmation: bool = False,
) -> Enrollment | None:
    """Enroll `lead` and schedule every active step; None if it already was enrolled.

    Day-1 deliveries are queued at once and handed to a worker on commit, so the prospect
    has the confirmation within seconds rather than at the next tick. A lead that sales has
    already (see exits) gets only that confirmation from a hand-off sequence: the
    enrollment is written with no later steps and exits at once.
    """
    now = now or timezone.now()
    if sequence.kind == Sequence.Kind.JOURNEY:
        # A journey (a migrated day list too) is entered at its first node, not by writing a
        # row per step.
        return enter_journey(
            lead=lead,
            journey=sequence,
            now=now,
            trigger="Enrolled by hand",
            needs_confirmation=needs_confirmation,
        )
    with transaction.atomic():
        # Locked, and read afresh: a rescoring that turns the lead hot meanwhile either
        # commits first (and is read here) or waits for this enrollment to commit (and then
        # exits it). Unlocked, its exit found no enrollment yet and the drip went on.
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        candidate = Enrollment(
            lead=lead, sequence=sequence, started_at=now, needs_confirmation=needs_confirmation
        )
        Enrollment.objects.bulk_create([candidate], ignore_conflicts=True)
        enrollment = Enrollment.objects.get(lead=lead, sequence=sequence)
        if enrollment.started_at != now or enrollment.state != Enrollment.State.ACTIVE:
            return None
        enrollment.sequence = sequence
        zone = lead_zone(lead=lead, sequence=sequence)
        handed_off = exits.handed_to_sales(lead=lead, sequence=sequence) is not None
        # A lead that left the sequence's topic (or never opted in to it) gets Day 1 only.
        day_one_only = handed_off or topic_blocks(lead_id=lead.pk, topic_id=sequence.topic_id)
        steps = [
            step
            for step in sequence.steps.all()
            if step.is_active and (not day_one_only or exits.is_confirmation(step))
        ]
        # A brand-new enrollment has no deliveries yet: no conflicts, and the rows get ids.
        deliveries = Delivery.objects.bulk_create(
            _delivery_for(enrollment=enrollment, step=step, zone=zone, now=now) for step in steps
        )
        Lead.objects.filter(pk=lead.pk, stage=Lead.Stage.NEW).update(stage=Lead.Stage.NURTURING)
        if handed_off:
            exit_enrollments(
                lead_id=lead.pk,
                reason=Enrollment.ExitReason.HANDED_TO_SALES,
                sequence_id=sequence.pk,
            )
            enrollment.refresh_from_db()
        hand_out_on_commit(
            delivery_ids=[d.pk for d in deliveries if d.status == Delivery.Status.QUEUED]
        )
    return enrollment


def enroll_leads(
    *, lead_ids: Seq[int], sequence: Sequence, now: datetime | None = None
) -> list[int]:
    """Enroll many leads in a day list at once (a CSV import): the ids of the enrollments made.

    A few statements whatever the number of leads, by `enroll_lead`'s rules: a lead enrolled
    already is left be (the unique lead, sequence and round), every active step is written
    due per the lead's zone, a lead sales has gets only the Day-1 confirmation of a hand-off
    sequence and exits at once, a lead outside the sequence's topic gets Day 1 only, and a
    new lead moves to nurturing. Suppressed addresses are not enrolled at all: a bought list
    is full of them, and each would be an enrollment of rows the sender only skips.

    Unlike `enroll_lead`, Day 1 is left `scheduled` and due now, not handed to a worker at
    once: the dispatcher's tick sends it within the sending quotas, instead of an import's
    100,000 confirmations hitting the ESP in a minute. A journey's leads enter through
    `triggers.enter_journey_in_bulk`.
    """
    if sequence.kind == Sequence.Kind.JOURNEY:
        raise ValueError(f"{sequence} is a journey: enter it with enter_journey_in_bulk.")
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, as in enroll_lead: a rescoring that turns a lead hot meanwhile commits
        # either first (and is read here) or after these enrollments (and exits them).
        leads = {
            lead.pk: lead
            for lead in Lead.objects.select_for_update()
            .filter(pk__in=list(lead_ids))
            .exclude(email__in=Suppression.objects.values("email"))
            .only("time_zone", "temperature", "stage", "owner")
            .order_by("pk")
        }
        rows = [
            {
                "lead_id": lead_id,
                "sequence_id": sequence.pk,
                "started_at": now,
                "state": Enrollment.State.ACTIVE,
            }
            for lead_id in leads
        ]
        enrolled = [
            (int(pk), int(lead_id))
            for pk, lead_id in insert_rows(
                Enrollment,
                rows,
                now=now,
                ignore_conflicts_on=["lead_id", "sequence_id", "round"],
                returning=["id", "lead_id"],
            )
        ]
        # A step saved with no day has no place in the list (day_lists.to_journey drops it too).
        steps = [step for step in sequence.steps.all() if step.is_active and step.day is not None]
        handed_off = {
            lead_id
            for _id, lead_id in enrolled
            if exits.handed_to_sales(lead=leads[lead_id], sequence=sequence) is not None
        }
        topic_id = sequence.topic_id
        left_topic: set[int] = (
            set()
            if topic_id is None
            else {
                lead_id
                for lead_id, _ in blocked_topics(
                    pairs={(lead_id, topic_id) for _id, lead_id in enrolled}
                )
            }
        )
        due_by_zone: dict[str, list[datetime]] = {}
        deliveries: list[dict[str, object]] = []
        for enrollment_id, lead_id in enrolled:
            lead = leads[lead_id]
            if lead.time_zone not in due_by_zone:
                zone = lead_zone(lead=lead, sequence=sequence)
                due_by_zone[lead.time_zone] = [
                    compute_due_at(enrolled_at=now, day=day_of(step), zone=zone, sequence=sequence)
                    for step in steps
                ]
            day_one_only = lead_id in handed_off or lead_id in left_topic
            deliveries += [
                {
                    "enrollment_id": enrollment_id,
                    "step_id": step.pk,
                    "due_at": due_at,
                    "status": Delivery.Status.SCHEDULED,
                    "status_changed_at": now,
                }
                for step, due_at in zip(steps, due_by_zone[lead.time_zone], strict=True)
                if not day_one_only or exits.is_confirmation(step)
            ]
        insert_rows(Delivery, deliveries, now=now)
        Lead.objects.filter(
            pk__in=[lead_id for _id, lead_id in enrolled], stage=Lead.Stage.NEW
        ).update(stage=Lead.Stage.NURTURING)
        # Brand-new enrollments: their only pending rows are the confirmations, which a
        # hand-off lets go (exit_enrollments would cancel nothing), so one UPDATE ends them.
        Enrollment.objects.filter(
            pk__in=[pk for pk, lead_id in enrolled if lead_id in handed_off]
        ).update(
            state=Enrollment.State.EXITED,
            exit_reason=Enrollment.ExitReason.HANDED_TO_SALES,
            ended_at=now,
        )
    return [pk for pk, _lead_id in enrolled]


def enroll_for_capture(*, lead_id: int, landing_page_id: int) -> list[Enrollment]:
    sequences = list(
        Sequence.objects.filter(
            status=Sequence.Status.ACTIVE, kind=Sequence.Kind.DAYS, entry_pages=landing_page_id
        ).prefetch_related("steps")
    )
    if not sequences:
        return []
    lead = Lead.objects.get(pk=lead_id)
    double_opt_in = LandingPage.objects.filter(pk=landing_page_id, double_opt_in=True).exists()
    enrolled = [
        enroll_lead(lead=lead, sequence=sequence, needs_confirmation=double_opt_in)
        for sequence in sequences
    ]
    return [enrollment for enrollment in enrolled if enrollment is not None]


def schedule_new_step(*, step: Step, now: datetime | None = None) -> int:
    """A step added to a live sequence reaches active enrollments not yet past its day."""
    now = now or timezone.now()
    if not step.is_active:
        return 0
    enrollments = Enrollment.objects.filter(
        sequence=step.sequence_id, state__in=LIVE_STATES
    ).select_related("lead", "sequence")
    deliveries = []
    for enrollment in enrollments.iterator(chunk_size=1000):
        zone = lead_zone(lead=enrollment.lead, sequence=enrollment.sequence)
        due_at = compute_due_at(
            enrolled_at=enrollment.started_at, day=day_of(step), zone=zone, sequence=step.sequence
        )
        if due_at >= now - timedelta(hours=1):
            deliveries.append(Delivery(enrollment=enrollment, step=step, due_at=max(due_at, now)))
    created = Delivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
    return len(created)


def cancel_pending_for_step(*, step_id: int) -> int:
    """A removed or disabled step: its deliveries not yet on their way are cancelled."""
    return Delivery.objects.filter(step_id=step_id, status=Delivery.Status.SCHEDULED).update(
        status=Delivery.Status.CANCELLED, status_changed_at=timezone.now()
    )


def _delivery_for(*, enrollment: Enrollment, step: Step, zone: ZoneInfo, now: datetime) -> Delivery:
    due_at = compute_due_at(
        enrolled_at=now, day=day_of(step), zone=zone, sequence=enrollment.sequence
    )
    immediate = due_at <= now
    return Delivery(
        enrollment=enrollment,
        step=step,
        due_at=due_at,
        status=Delivery.Status.QUEUED if immediate else Delivery.Status.SCHEDULED,
        status_changed_at=now,
    )


def confirm_address(*, lead_id: int, ip_hash: str = "", now: datetime | None = None) -> int:
    """The lead clicked its double opt-in link: the proof is logged once (a consent record,
    whether or not an enrollment still waits: one may have ended as the lead turned hot),
    and the waiting enrollments go on. Returns how many enrollments were confirmed."""
    now = now or timezone.now()
    with transaction.atomic():
        Lead.objects.select_for_update().filter(pk=lead_id).first()  # one record per lead
        logged = ConsentRecord.objects.filter(
            lead_id=lead_id, action=ConsentRecord.Action.CONFIRM
        ).exists()
        if not logged:
            ConsentRecord.objects.create(
                lead_id=lead_id,
                topic=None,
                action=ConsentRecord.Action.CONFIRM,
                source=ConsentRecord.Source.CONFIRM_LINK,
                detail="Clicked the link in the confirmation email",
                ip_hash=ip_hash,
                recorded_at=now,
            )
        return confirm_enrollments(lead_id=lead_id, now=now)


def confirm_enrollments(*, lead_id: int, now: datetime | None = None) -> int:
    """Double opt-in confirmed: the rest of each waiting sequence starts from now."""
    now = now or timezone.now()
    confirmed = 0
    waiting = Enrollment.objects.filter(
        lead_id=lead_id,
        state=Enrollment.State.ACTIVE,
        needs_confirmation=True,
        confirmed_at__isnull=True,
    ).select_related("lead", "sequence")
    with transaction.atomic():
        for enrollment in waiting.select_for_update(of=("self",)):
            zone = lead_zone(lead=enrollment.lead, sequence=enrollment.sequence)
            pending = enrollment.deliveries.filter(status=Delivery.Status.SCHEDULED)
            for delivery in pending.select_related("step"):
                delivery.due_at = compute_due_at(
                    enrolled_at=now,
                    day=day_of(delivery.step),
                    zone=zone,
                    sequence=enrollment.sequence,
                )
                delivery.save(update_fields=["due_at"])
            enrollment.confirmed_at = now
            fields = ["confirmed_at"]
            if enrollment.current_node_id is not None:
                # A journey held after its first email: the rest starts from now.
                enrollment.next_at = now
                fields.append("next_at")
            enrollment.save(update_fields=fields)
            confirmed += 1
    return confirmed
