"""The first version's day lists, turned into journeys that send the same emails on the same
dates.

A day list is a row of steps ("Day 1", "Day 2", ...) whose deliveries are all written at
enrollment, each due on local day N-1 after enrollment inside the window, each re-checked
at send time against its own conditions (only these temperatures; only if the previous
email was, or was not, clicked). `to_journey` rewrites one in place as a chain:

    Day 1 email → wait "journey day 2" → Day 2 email → wait "journey day 3" → ...

- The email nodes use the existing Steps (their `day` kept: labels, the hand-off's "Day 1
  still goes" rule and the sender's condition checks all read it), with config
  `{"same_day_ok": true, "legacy": true}`: a day list never held back an email because the
  journey, or the frequency cap, had mailed the lead that day. Day 1 becomes transactional
  (it already was, by its day).
- A wait of unit "journey_day" counts from the enrollment (or confirmation) as
  `scheduling.compute_due_at` does, not from the previous node, so the dates are identical.
- A step's conditions (only these temperatures; previous email clicked or not) stay on its
  Step, and the sender checks them at send time as it always did: the row is written and
  marked skipped, and the journey moves on. Not branch nodes: the sender's click check
  reads "the previous email" as the previous day's row, so a step a branch skipped (no
  row) would make it read an older one and skip where the day list sent. The email node's
  name says the condition on the map.
- Entry pages become form triggers (and are cleared, so the day-list capture path does not
  enroll the lead a second time); re-entry is "once", as a day list's one enrollment was.

Live enrollments already have every delivery written. Moving them onto the graph's earlier
nodes would make the graph write those steps' deliveries again (a unique conflict, or a
double send). Instead each one rides out the rows it has: it is placed, already arrived
(`node_entered_at` set), on the email node of its last step with a delivery, and its path
records the emails it had. The dispatcher sends the pending rows on their dates as before;
when the last one is done the sender wakes the enrollment (`Delivery.node` is filled in for
every existing row) and it goes on from there: to the end, or to nodes a marketer adds
after it. Nothing is resent, nothing is dropped, and no date moves.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from nurture.models import Delivery, Edge, Enrollment, Node, PathStep, Sequence, Step, Trigger
from nurture.services import timing

LEGACY = {"same_day_ok": True, "legacy": True}
MIGRATED = "migrated from the day list"
LIVE = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)
# As the email node's own backstop: the sender wakes the enrollment when its email is done.
# (Not imported from nodes.email: importing one handler module early leaves the registry
# with only that handler, see nodes/__init__.py.)
BACKSTOP = timedelta(hours=1)


def to_journey(sequence: Sequence, *, now: datetime | None = None) -> Sequence:
    """Turn the day list `sequence` into a journey in place (see the module docstring)."""
    now = now or timezone.now()
    if sequence.kind != Sequence.Kind.DAYS:
        raise ValueError(f"{sequence} is already a journey.")
    with transaction.atomic():
        sequence = Sequence.objects.select_for_update().get(pk=sequence.pk)
        steps = list(sequence.steps.filter(is_active=True, day__isnull=False).order_by("day"))
        email_nodes = _build_chain(sequence=sequence, steps=steps)
        Trigger.objects.bulk_create(
            Trigger(sequence=sequence, kind=Trigger.Kind.FORM, config={"page": page_id})
            for page_id in sequence.entry_pages.values_list("pk", flat=True)
        )
        sequence.entry_pages.clear()
        sequence.kind = Sequence.Kind.JOURNEY
        sequence.reentry = Sequence.Reentry.ONCE
        sequence.save(update_fields=["kind", "reentry", "start_node"])
        for step_id, node in email_nodes.items():
            Delivery.objects.filter(step_id=step_id).update(node=node)
        _place_live_enrollments(sequence=sequence, email_nodes=email_nodes, now=now)
    return sequence


def _build_chain(*, sequence: Sequence, steps: list[Step]) -> dict[int, Node]:
    """The nodes and arrows; sets `sequence.start_node` (unsaved). Email nodes by step id."""
    email_nodes: dict[int, Node] = {}
    previous: Node | None = None
    previous_day: int | None = None

    def attach(node: Node) -> None:
        if previous is None:
            sequence.start_node = node
        else:
            Edge.objects.create(source=previous, port="next", target=node)

    for step in steps:
        if step.day is None:
            raise ValueError(f"step {step.pk} of a day list has no day")
        if step.day > 1:
            wait = Node.objects.create(
                sequence=sequence,
                kind=Node.Kind.WAIT,
                name=f"Until day {step.day}",
                config={"amount": step.day, "unit": timing.JOURNEY_DAY},
            )
            attach(wait)
            previous = wait
        config = dict(LEGACY)
        if step.day <= 1 and not step.transactional:
            step.transactional = True
            step.save(update_fields=["transactional"])
            config["made_transactional"] = True
        email = Node.objects.create(
            sequence=sequence,
            kind=Node.Kind.EMAIL,
            name=_email_name(step, previous_day),
            config=config,
            step=step,
        )
        attach(email)
        previous, previous_day = email, step.day
        email_nodes[step.pk] = email
    return email_nodes


def _email_name(step: Step, previous_day: int | None) -> str:
    """ "Day 3", with the step's condition (which the sender checks as it always did)."""
    parts = []
    if step.only_temperatures:
        parts.append(f"{' or '.join(step.only_temperatures)} only")
    if step.click_condition:
        verb = "clicked" if step.click_condition == Step.ClickCondition.CLICKED else "not clicked"
        parts.append(f"if Day {previous_day} {verb}" if previous_day else f"if {verb}")
    return f"Day {step.day} ({', '.join(parts)})"[:100] if parts else f"Day {step.day}"


def _place_live_enrollments(
    *, sequence: Sequence, email_nodes: dict[int, Node], now: datetime
) -> None:
    by_enrollment: dict[int, list[tuple[int, datetime, datetime | None]]] = defaultdict(list)
    rows = Delivery.objects.filter(
        enrollment__sequence=sequence, enrollment__state__in=LIVE, step_id__in=email_nodes
    ).values_list("enrollment_id", "step_id", "due_at", "sent_at")
    for enrollment_id, step_id, due_at, sent_at in rows.order_by("step__day"):
        by_enrollment[enrollment_id].append((step_id, due_at, sent_at))
    path: list[PathStep] = []
    places: list[Enrollment] = []
    for enrollment_id, deliveries in by_enrollment.items():
        last_step, last_due, _ = deliveries[-1]
        node = email_nodes[last_step]
        for step_id, due_at, sent_at in deliveries:
            email = email_nodes[step_id]
            path.append(
                PathStep(
                    enrollment_id=enrollment_id,
                    node=email,
                    node_name=email.name,
                    node_kind=email.kind,
                    entered_at=min(sent_at or due_at, now),
                    via=MIGRATED,
                )
            )
        # Resumes once its last email is done: the sender wakes it; this is the backstop.
        places.append(
            Enrollment(
                pk=enrollment_id,
                current_node=node,
                node_entered_at=min(last_due, now),
                next_at=max(last_due, now) + BACKSTOP,
            )
        )
    PathStep.objects.bulk_create(path, batch_size=2000)
    Enrollment.objects.bulk_update(
        places, ["current_node", "node_entered_at", "next_at"], batch_size=500
    )
