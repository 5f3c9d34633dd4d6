"""The journey engine end to end through services: enter, advance, send, branch, convert."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from capture.models import Activity, Lead
from capture.services import record_activity
from nurture.models import Delivery, Enrollment, Node, PathStep
from nurture.services import advancing, triggers
from nurture.services.dispatching import hand_out_due
from tests.factories import LandingPageFactory, LeadFactory
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _tick(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        advancing.advance_all_due(now=now)
        hand_out_due(now=now)
        advancing.advance_all_due(now=now)


def _path(enrollment: Enrollment) -> list[str]:
    return [
        f"{step.node_name} ({step.via})" if step.via else step.node_name
        for step in PathStep.objects.filter(enrollment=enrollment)
    ]


def test_a_submission_enters_the_journey_and_the_confirmation_goes_at_once() -> None:
    page = LandingPageFactory()
    journey = playbook(page=page)
    lead = LeadFactory(time_zone="UTC")
    with time_machine.travel(MONDAY, tick=False):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    assert [m.subject for m in mail.outbox] == ["Thanks, we got your request"]
    # The confirmation is sent; at the next tick the lead waits one business day.
    _tick(MONDAY)
    enrollment.refresh_from_db()
    assert enrollment.current_node.kind == Node.Kind.WAIT
    assert enrollment.next_at == MONDAY + timedelta(days=1)
    assert journey.enrollments.count() == 1


def test_a_cold_lead_takes_the_else_branch_and_times_out_to_the_reminder() -> None:
    page = LandingPageFactory()
    playbook(page=page)
    lead = LeadFactory(time_zone="UTC")
    with time_machine.travel(MONDAY, tick=False):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    _tick(MONDAY + timedelta(days=1, minutes=1))
    assert [m.subject for m in mail.outbox][-1] == "Three ways to grow"
    _tick(MONDAY + timedelta(days=1, minutes=2))
    enrollment.refresh_from_db()
    assert enrollment.current_node.kind == Node.Kind.WAIT_UNTIL
    _tick(MONDAY + timedelta(days=4, minutes=3))
    _tick(MONDAY + timedelta(days=4, minutes=4))
    _tick(MONDAY + timedelta(days=4, minutes=5))
    assert [m.subject for m in mail.outbox][-1] == "In case you missed it"
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED
    path = _path(enrollment)
    assert path[2] == "Hot? (waited)"
    assert path[3] == "Three ways to grow (branch: otherwise)"
    assert "no “clicked any email” in time → timed out" in path[5]


def test_a_click_while_waiting_takes_the_yes_path_at_once() -> None:
    page = LandingPageFactory()
    playbook(page=page)
    lead = LeadFactory(time_zone="UTC")
    with time_machine.travel(MONDAY, tick=False):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    _tick(MONDAY + timedelta(days=1, minutes=1))
    _tick(MONDAY + timedelta(days=1, minutes=2))
    day2 = Delivery.objects.get(enrollment=enrollment, node__name="Three ways to grow")
    clicked_at = MONDAY + timedelta(days=1, hours=2)
    with time_machine.travel(clicked_at, tick=False):
        Delivery.objects.filter(pk=day2.pk).update(clicked_at=clicked_at)
        record_activity(lead=lead, kind=Activity.Kind.EMAIL_CLICKED, metadata={"link": "x"})
    enrollment.refresh_from_db()
    assert enrollment.next_at == clicked_at
    # The same local day already had Day 2: the story waits for the next day.
    _tick(clicked_at + timedelta(minutes=1))
    story = Delivery.objects.get(enrollment=enrollment, node__name="A client story")
    assert story.due_at.date() == (clicked_at + timedelta(days=1)).date()
    assert "clicked any email → yes" in _path(enrollment)[-1]


def test_a_hot_lead_takes_the_task_branch() -> None:
    page = LandingPageFactory()
    playbook(page=page)
    lead = LeadFactory(time_zone="UTC")
    with time_machine.travel(MONDAY, tick=False):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    Lead.objects.filter(pk=lead.pk).update(temperature=Lead.Temperature.HOT)
    _tick(MONDAY + timedelta(days=1, minutes=1))
    enrollment.refresh_from_db()
    assert enrollment.current_node.kind == Node.Kind.TASK
    assert "branch: hot → yes" in _path(enrollment)[-1]


def test_booking_converts_the_enrollment_from_anywhere() -> None:
    page = LandingPageFactory()
    playbook(page=page)
    lead = LeadFactory(time_zone="UTC")
    with time_machine.travel(MONDAY, tick=False):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    Lead.objects.filter(pk=lead.pk).update(stage=Lead.Stage.BOOKED)
    triggers.on_stage_changed(lead_id=lead.pk, new=Lead.Stage.BOOKED)
    enrollment.refresh_from_db()
    assert enrollment.exit_reason == Enrollment.ExitReason.CONVERTED
    assert enrollment.converted_at is not None


def test_each_node_runs_once_even_when_two_ticks_race() -> None:
    page = LandingPageFactory()
    playbook(page=page)
    leads = [LeadFactory(time_zone="UTC") for _ in range(5)]
    with time_machine.travel(MONDAY, tick=False):
        for lead in leads:
            triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    later = MONDAY + timedelta(days=1, minutes=1)
    _tick(later)
    _tick(later)
    assert Delivery.objects.filter(node__name="Three ways to grow").count() == 5
    assert (
        PathStep.objects.values("enrollment", "node").distinct().count() == PathStep.objects.count()
    )
