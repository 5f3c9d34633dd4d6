"""The data migration 0010, run forward and backward by Django's migration executor.

Migration 0010 changes no table, so the rows are written with today's models while the
database stands at 0009 (with the columns later migrations add, see `later_tables`), and
read back the same way after each move.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase

from nurture.models import (
    ConsentRecord,
    Delivery,
    Edge,
    Enrollment,
    Node,
    PathStep,
    Sequence,
    Step,
    SubscriptionTopic,
    TopicSubscription,
    Trigger,
)
from nurture.services import scheduling, triggers
from nurture.services.scheduling import compute_due_at
from tests.factories import LandingPageFactory, LeadFactory, playbook_sequence
from tests.journeys.builders import playbook
from tests.journeys.test_day_list_migration import drive, schedule

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("nurture", "0009_journey_groups")]
AFTER = [("nurture", "0010_day_lists_to_journeys")]
ENROLLED = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # a Monday
MIGRATED = ENROLLED + timedelta(days=1, hours=3)


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def later_tables(*, add: bool) -> None:
    """What migrations after 0010 add to the tables written here (0012's topics), put back
    by hand at 0009 so today's models can write, and taken away before migrating forward."""
    with connection.schema_editor() as editor:
        if add:
            editor.create_model(SubscriptionTopic)
            editor.add_field(Sequence, Sequence._meta.get_field("topic"))
            editor.create_model(TopicSubscription)
            editor.create_model(ConsentRecord)
        else:
            editor.delete_model(ConsentRecord)
            editor.delete_model(TopicSubscription)
            editor.remove_field(Sequence, Sequence._meta.get_field("topic"))
            editor.delete_model(SubscriptionTopic)


@pytest.fixture
def at_0009() -> Iterator[None]:
    migrate(BEFORE)
    later_tables(add=True)
    try:
        yield
    finally:
        later_tables(add=False)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_it_turns_day_lists_into_journeys_and_back(at_0009: None, settings) -> None:
    settings.NURTURE_SCANNER_WINDOW_SECONDS = 0
    page = LandingPageFactory()
    day_list = playbook_sequence(page=page, name="Playbook")
    Step.objects.filter(sequence=day_list, day=3).update(only_temperatures=["warm", "hot"])
    built = playbook(page=LandingPageFactory())  # a journey already: left alone both ways
    built_nodes = Node.objects.filter(sequence=built).count()
    lead = LeadFactory(time_zone="Europe/Berlin")
    with time_machine.travel(ENROLLED, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        scheduling.enroll_for_capture(lead_id=lead.pk, landing_page_id=page.pk)
    drive(start=ENROLLED, until=ENROLLED + timedelta(days=1, hours=2), clickers=[])
    rows = schedule(lead)
    assert [status for _, status, *_ in rows] == [
        "sent",
        "sent",
        "scheduled",
        "scheduled",
        "scheduled",
    ]

    with time_machine.travel(MIGRATED, tick=False):
        migrate(AFTER)

    journey = Sequence.objects.get(pk=day_list.pk)
    assert journey.kind == Sequence.Kind.JOURNEY
    assert journey.reentry == Sequence.Reentry.ONCE
    assert list(journey.entry_pages.all()) == []
    assert [(t.kind, t.config) for t in journey.triggers.all()] == [
        (Trigger.Kind.FORM, {"page": page.pk})
    ]
    assert journey.start_node.name == "Day 1" and journey.start_node.step.transactional
    nodes = Node.objects.filter(sequence=journey)
    assert [(n.kind, n.name) for n in nodes.order_by("pk")] == [
        ("email", "Day 1"),
        ("wait", "Until day 2"),
        ("email", "Day 2"),
        ("wait", "Until day 3"),
        ("email", "Day 3 (warm or hot only)"),
        ("wait", "Until day 5"),
        ("email", "Day 5"),
        ("wait", "Until day 7"),
        ("email", "Day 7"),
    ]
    assert Edge.objects.filter(source__sequence=journey).count() == 8
    assert all(n.config["legacy"] for n in nodes.filter(kind="email"))
    enrollment = Enrollment.objects.get(lead=lead)
    assert enrollment.current_node.name == "Day 7"
    assert enrollment.next_at > MIGRATED
    assert PathStep.objects.filter(enrollment=enrollment).count() == 5
    assert schedule(lead) == rows  # nothing resent, dropped or moved
    assert not Delivery.objects.filter(enrollment=enrollment, node__isnull=True).exists()
    assert Node.objects.filter(sequence=built).count() == built_nodes
    assert Sequence.objects.get(pk=built.pk).kind == Sequence.Kind.JOURNEY

    # A lead entering the migrated journey gets its Day 1 from the graph.
    newcomer = LeadFactory(time_zone="America/New_York")
    with time_machine.travel(MIGRATED, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        triggers.on_capture(lead_id=newcomer.pk, landing_page_id=page.pk)
    assert [day for day, *_ in schedule(newcomer)] == [1]

    with time_machine.travel(MIGRATED + timedelta(minutes=5), tick=False):
        migrate(BEFORE)

    back = Sequence.objects.get(pk=day_list.pk)
    assert back.kind == Sequence.Kind.DAYS and back.start_node is None
    assert list(back.entry_pages.all()) == [page]
    assert not back.triggers.exists() and not Node.objects.filter(sequence=back).exists()
    assert not PathStep.objects.filter(enrollment__sequence=back).exists()
    assert Step.objects.get(sequence=back, day=1).transactional is False
    assert schedule(lead) == rows
    enrollment.refresh_from_db()
    assert (enrollment.current_node, enrollment.next_at) == (None, None)
    # The newcomer gets the rest of the day list on the day list's own dates.
    entered = Enrollment.objects.get(lead=newcomer).started_at
    zone = ZoneInfo("America/New_York")
    assert [(day, due) for day, _, due, _ in schedule(newcomer)] == [
        (day, compute_due_at(enrolled_at=entered, day=day, zone=zone, sequence=back))
        for day in (1, 2, 3, 5, 7)
    ]
    assert Node.objects.filter(sequence=built).count() == built_nodes
    assert Sequence.objects.get(pk=built.pk).kind == Sequence.Kind.JOURNEY
