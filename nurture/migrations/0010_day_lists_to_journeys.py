"""Every day list becomes a journey that sends the same emails on the same dates.

The logic is `nurture.services.day_lists.to_journey`'s, copied onto the historical models
(a migration must not import services that follow today's models): a chain of email nodes
on the existing steps (config legacy, same_day_ok) separated by "journey_day" waits, form
triggers for the entry pages, re-entry once, and live enrollments left to ride out the
deliveries they already have (see that module's docstring).

Reversible for the journeys that came from day lists and were not reshaped since: their
nodes, arrows, triggers and paths go, the entry pages come back, and live enrollments get
the day-list rows they are missing, on the days the day list would have sent them. A
journey a marketer has added other nodes to cannot be a day list and stays a journey.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import migrations
from django.utils import timezone

LEGACY = {"same_day_ok": True, "legacy": True}
MIGRATED = "migrated from the day list"
LIVE = ("active", "paused")
BACKSTOP = timedelta(hours=1)


def _email_name(step, previous_day):
    parts = []
    if step.only_temperatures:
        parts.append(f"{' or '.join(step.only_temperatures)} only")
    if step.click_condition:
        verb = "clicked" if step.click_condition == "clicked" else "not clicked"
        parts.append(f"if Day {previous_day} {verb}" if previous_day else f"if {verb}")
    return f"Day {step.day} ({', '.join(parts)})"[:100] if parts else f"Day {step.day}"


def _convert(apps, sequence, now):
    Node = apps.get_model("nurture", "Node")
    Edge = apps.get_model("nurture", "Edge")
    Trigger = apps.get_model("nurture", "Trigger")
    Delivery = apps.get_model("nurture", "Delivery")
    Enrollment = apps.get_model("nurture", "Enrollment")
    PathStep = apps.get_model("nurture", "PathStep")
    email_nodes = {}
    previous, previous_day = None, None
    for step in sequence.steps.filter(is_active=True, day__isnull=False).order_by("day"):
        chain = []
        if step.day > 1:
            chain.append(
                Node.objects.create(
                    sequence=sequence,
                    kind="wait",
                    name=f"Until day {step.day}",
                    config={"amount": step.day, "unit": "journey_day"},
                )
            )
        config = dict(LEGACY)
        if step.day <= 1 and not step.transactional:
            step.transactional = True
            step.save(update_fields=["transactional"])
            config["made_transactional"] = True
        email = Node.objects.create(
            sequence=sequence,
            kind="email",
            name=_email_name(step, previous_day),
            config=config,
            step=step,
        )
        chain.append(email)
        for node in chain:
            if previous is None:
                sequence.start_node = node
            else:
                Edge.objects.create(source=previous, port="next", target=node)
            previous = node
        previous_day = step.day
        email_nodes[step.pk] = email
    Trigger.objects.bulk_create(
        Trigger(sequence=sequence, kind="form", config={"page": page_id})
        for page_id in sequence.entry_pages.values_list("pk", flat=True)
    )
    sequence.entry_pages.clear()
    sequence.kind = "journey"
    sequence.reentry = "once"
    sequence.save(update_fields=["kind", "reentry", "start_node"])
    for step_id, node in email_nodes.items():
        Delivery.objects.filter(step_id=step_id).update(node=node)
    # Live enrollments ride out the rows they have, from their last step's email node.
    by_enrollment = {}
    rows = Delivery.objects.filter(
        enrollment__sequence=sequence, enrollment__state__in=LIVE, step_id__in=email_nodes
    ).order_by("step__day")
    for enrollment_id, step_id, due_at, sent_at in rows.values_list(
        "enrollment_id", "step_id", "due_at", "sent_at"
    ):
        by_enrollment.setdefault(enrollment_id, []).append((step_id, due_at, sent_at))
    for enrollment_id, deliveries in by_enrollment.items():
        PathStep.objects.bulk_create(
            PathStep(
                enrollment_id=enrollment_id,
                node=email_nodes[step_id],
                node_name=email_nodes[step_id].name,
                node_kind="email",
                entered_at=min(sent_at or due_at, now),
                via=MIGRATED,
            )
            for step_id, due_at, sent_at in deliveries
        )
        last_step, last_due, _ = deliveries[-1]
        Enrollment.objects.filter(pk=enrollment_id).update(
            current_node=email_nodes[last_step],
            node_entered_at=min(last_due, now),
            next_at=max(last_due, now) + BACKSTOP,
        )


def day_lists_to_journeys(apps, schema_editor):
    Sequence = apps.get_model("nurture", "Sequence")
    now = timezone.now()
    for sequence in Sequence.objects.filter(kind="days").order_by("pk"):
        _convert(apps, sequence, now)


# -- reverse ---------------------------------------------------------------------------------
def _zone(lead, sequence):
    for name in (lead.time_zone, sequence.fallback_time_zone, "UTC"):
        try:
            return ZoneInfo(name or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def _due_at(enrolled_at, day, zone, sequence):
    """scheduling.compute_due_at, as of this migration."""
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
    return datetime.combine(target_date, wall, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def journeys_to_day_lists(apps, schema_editor):
    Sequence = apps.get_model("nurture", "Sequence")
    Node = apps.get_model("nurture", "Node")
    Delivery = apps.get_model("nurture", "Delivery")
    Enrollment = apps.get_model("nurture", "Enrollment")
    PathStep = apps.get_model("nurture", "PathStep")
    now = timezone.now()
    for sequence in Sequence.objects.filter(kind="journey").order_by("pk"):
        nodes = list(Node.objects.filter(sequence=sequence).select_related("step"))
        legacy = [n for n in nodes if n.kind == "email" and (n.config or {}).get("legacy")]
        reshaped = any(
            not (
                (n.kind == "email" and (n.config or {}).get("legacy"))
                or (n.kind == "wait" and (n.config or {}).get("unit") == "journey_day")
            )
            for n in nodes
        )
        if not legacy or reshaped:
            continue  # built as a journey, or grown beyond what a day list can say
        for node in legacy:
            if node.step is not None and (node.config or {}).get("made_transactional"):
                node.step.transactional = False
                node.step.save(update_fields=["transactional"])
        pages = [
            int(page)
            for page in sequence.triggers.filter(kind="form").values_list("config__page", flat=True)
            if page not in (None, "")
        ]
        sequence.entry_pages.add(*pages)
        enrollments = Enrollment.objects.filter(sequence=sequence)
        PathStep.objects.filter(enrollment__in=enrollments).delete()
        enrollments.update(current_node=None, node_entered_at=None, next_at=None)
        Delivery.objects.filter(enrollment__sequence=sequence).update(node=None)
        sequence.start_node = None
        sequence.kind = "days"
        sequence.save(update_fields=["start_node", "kind"])
        sequence.triggers.all().delete()
        Node.objects.filter(sequence=sequence).delete()  # their arrows go with them
        # Leads who entered as a journey have rows only for the steps they reached.
        steps = list(sequence.steps.filter(is_active=True, day__isnull=False))
        for enrollment in enrollments.filter(state__in=LIVE).select_related("lead"):
            have = set(enrollment.deliveries.values_list("step_id", flat=True))
            zone = _zone(enrollment.lead, sequence)
            start = enrollment.confirmed_at or enrollment.started_at
            missing = []
            for step in steps:
                due_at = _due_at(start, step.day, zone, sequence)
                if step.pk not in have and due_at >= now - BACKSTOP:
                    missing.append(
                        Delivery(
                            enrollment=enrollment,
                            step=step,
                            due_at=max(due_at, now),
                            status="scheduled",
                            status_changed_at=now,
                        )
                    )
            Delivery.objects.bulk_create(missing, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("nurture", "0009_journey_groups"),
    ]

    operations = [migrations.RunPython(day_lists_to_journeys, journeys_to_day_lists)]
