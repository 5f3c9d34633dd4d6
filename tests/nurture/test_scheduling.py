from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from capture.models import Lead
from capture.services import Tracking, capture_submission
from nurture.models import Delivery, Enrollment, Step
from nurture.services.scheduling import (
    cancel_pending_for_step,
    compute_due_at,
    enroll_lead,
    schedule_new_step,
)
from tests.factories import LandingPageFactory, LeadFactory, SequenceFactory, playbook_sequence

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def _due(enrolled_local: datetime, day: int, **window: Any) -> datetime:
    sequence = SequenceFactory.build(**window)
    due = compute_due_at(
        enrolled_at=enrolled_local, day=day, zone=enrolled_local.tzinfo, sequence=sequence
    )
    return due.astimezone(enrolled_local.tzinfo)


def test_day_one_goes_out_at_once_even_at_night() -> None:
    night = datetime(2026, 3, 4, 23, 30, tzinfo=BERLIN)
    assert _due(night, 1) == night


def test_later_days_keep_the_local_time_of_enrollment() -> None:
    enrolled = datetime(2026, 3, 2, 10, 15, tzinfo=NEW_YORK)  # a Monday
    assert _due(enrolled, 2) == datetime(2026, 3, 3, 10, 15, tzinfo=NEW_YORK)
    assert _due(enrolled, 3) == datetime(2026, 3, 4, 10, 15, tzinfo=NEW_YORK)


def test_an_early_enrollment_waits_for_the_window_to_open() -> None:
    enrolled = datetime(2026, 3, 2, 6, 0, tzinfo=TOKYO)
    assert _due(enrolled, 2) == datetime(2026, 3, 3, 9, 0, tzinfo=TOKYO)


def test_a_late_enrollment_moves_to_the_next_morning() -> None:
    enrolled = datetime(2026, 3, 2, 21, 0, tzinfo=TOKYO)  # Monday evening
    assert _due(enrolled, 2) == datetime(2026, 3, 4, 9, 0, tzinfo=TOKYO)


def test_weekends_are_skipped_when_not_allowed() -> None:
    enrolled = datetime(2026, 3, 5, 11, 0, tzinfo=BERLIN)  # Thursday
    assert _due(enrolled, 3) == datetime(2026, 3, 9, 9, 0, tzinfo=BERLIN)  # Sat → Monday 9:00
    assert _due(enrolled, 3, weekdays=list(range(7))) == datetime(2026, 3, 7, 11, 0, tzinfo=BERLIN)


def test_the_local_hour_holds_across_a_dst_change() -> None:
    # New York springs forward on 2026-03-08: 10:00 local is 15:00 UTC before, 14:00 after.
    enrolled = datetime(2026, 3, 6, 10, 0, tzinfo=NEW_YORK)  # Friday, EST
    due = _due(enrolled, 4, weekdays=list(range(7)))
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert due.astimezone(UTC).hour == 14
    assert enrolled.astimezone(UTC).hour == 15


def test_each_lead_is_mailed_in_its_own_zone() -> None:
    sequence = playbook_sequence()
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # Monday noon UTC
    tokyo = LeadFactory(time_zone="Asia/Tokyo")  # 21:00 there: after the window
    unknown = LeadFactory(time_zone="")  # fallback zone, UTC
    for lead in (tokyo, unknown):
        enroll_lead(lead=lead, sequence=sequence, now=now)
    day2 = {d.enrollment.lead_id: d.due_at for d in Delivery.objects.filter(step__day=2)}
    assert day2[tokyo.pk] == datetime(2026, 3, 4, 9, 0, tzinfo=TOKYO)
    assert day2[unknown.pk] == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def test_enrollment_writes_one_delivery_per_active_step() -> None:
    sequence = playbook_sequence()
    Step.objects.filter(sequence=sequence, day=3).update(is_active=False)
    lead = LeadFactory()
    enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    assert sorted(enrollment.deliveries.values_list("step__day", flat=True)) == [1, 2, 5, 7]
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.NURTURING


def test_a_lead_is_not_enrolled_twice() -> None:
    sequence = playbook_sequence()
    lead = LeadFactory()
    assert enroll_lead(lead=lead, sequence=sequence) is not None
    assert enroll_lead(lead=lead, sequence=sequence) is None
    assert Enrollment.objects.count() == 1
    assert Delivery.objects.count() == 5


def test_enrollment_leaves_a_later_stage_alone() -> None:
    lead = LeadFactory(stage=Lead.Stage.CONTACTED)
    enroll_lead(lead=lead, sequence=playbook_sequence())
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.CONTACTED


def test_a_capture_enrolls_and_sends_the_confirmation_within_the_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    page = LandingPageFactory()
    playbook_sequence(page=page)
    playbook_sequence()  # not on this page
    with django_capture_on_commit_callbacks(execute=True):
        capture_submission(
            page=page,
            data={"email": "speedy@example.com", "first_name": "Sam"},
            tracking=Tracking(),
        )
    enrollment = Enrollment.objects.get()
    assert enrollment.lead.email == "speedy@example.com"
    assert [m.subject for m in mail.outbox] == ["Day 1 for Sam"]
    day1 = Delivery.objects.get(step__day=1)
    assert day1.status == Delivery.Status.SENT
    assert Delivery.objects.filter(status=Delivery.Status.SCHEDULED).count() == 4


def test_a_paused_sequence_enrolls_nobody(django_capture_on_commit_callbacks: Any) -> None:
    page = LandingPageFactory()
    playbook_sequence(page=page, status="paused")
    with django_capture_on_commit_callbacks(execute=True):
        capture_submission(page=page, data={"email": "a@example.com"}, tracking=Tracking())
    assert not Enrollment.objects.exists()


def test_a_step_added_later_reaches_enrollments_not_past_its_day() -> None:
    sequence = SequenceFactory(weekdays=list(range(7)))
    Step.objects.create(sequence=sequence, day=1, subject="Hi", body="Hi")
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        early = enroll_lead(lead=LeadFactory(), sequence=sequence)
    with time_machine.travel(datetime(2026, 3, 6, 10, 0, tzinfo=UTC), tick=False):
        late = enroll_lead(lead=LeadFactory(), sequence=sequence)
        step = Step.objects.create(sequence=sequence, day=3, subject="New", body="New")
        assert schedule_new_step(step=step) == 1
    assert not Delivery.objects.filter(enrollment=early, step=step).exists(), "its day 3 passed"
    added = Delivery.objects.get(enrollment=late, step=step)
    assert added.due_at == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


def test_a_removed_step_cancels_only_what_is_pending() -> None:
    sequence = playbook_sequence()
    enroll_lead(lead=LeadFactory(), sequence=sequence)
    enroll_lead(lead=LeadFactory(), sequence=sequence)
    step = sequence.steps.get(day=5)
    Delivery.objects.filter(step=step).filter(
        pk=Delivery.objects.filter(step=step).first().pk
    ).update(status="sent")
    assert cancel_pending_for_step(step_id=step.pk) == 1
    assert sorted(Delivery.objects.filter(step=step).values_list("status", flat=True)) == [
        "cancelled",
        "sent",
    ]
