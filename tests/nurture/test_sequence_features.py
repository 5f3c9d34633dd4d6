"""Double opt-in, ESP quotas with fair sharing, and editing a live sequence in the admin."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from capture.services import Tracking, capture_submission
from nurture.models import Delivery, Enrollment, Step
from nurture.services.dispatching import claim_due_deliveries, dispatch_due, sending_allowance
from nurture.services.scheduling import enroll_lead
from tests.factories import (
    LandingPageFactory,
    LeadFactory,
    SequenceFactory,
    StepFactory,
    marketer,
    playbook_sequence,
)

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
on_commit = TestCase.captureOnCommitCallbacks


def _capture_on_double_opt_in_page() -> Enrollment:
    page = LandingPageFactory(double_opt_in=True)
    playbook_sequence(page=page, weekdays=list(range(7)))
    with time_machine.travel(START, tick=False), on_commit(execute=True):
        capture_submission(page=page, data={"email": "careful@example.com", "first_name": "Cy"},
                           tracking=Tracking())  # fmt: skip
    return Enrollment.objects.get()


def test_double_opt_in_sends_only_the_confirmation_until_confirmed(client: Client) -> None:
    enrollment = _capture_on_double_opt_in_page()
    assert enrollment.needs_confirmation
    assert len(mail.outbox) == 1
    html = mail.outbox[0].alternatives[0][0]
    assert "Confirm my email address" in html
    (confirm_path,) = re.findall(r'href="http://localhost:8000(/c/[^"]+)"', html)

    with time_machine.travel(START + timedelta(days=3), tick=False):
        dispatch_due()
    assert len(mail.outbox) == 1, "nothing else before the click"
    assert client.get(confirm_path).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.confirmed_at is None, "a scanner's GET does not confirm"

    confirmed_at = START + timedelta(days=3, hours=1)
    with time_machine.travel(confirmed_at, tick=False):
        response = client.post(confirm_path)
    assert response.status_code == 200 and "you are confirmed" in response.content.decode()
    day2 = enrollment.deliveries.get(step__day=2)
    assert day2.due_at == confirmed_at + timedelta(days=1), "the sequence starts from the click"
    with time_machine.travel(day2.due_at + timedelta(minutes=1), tick=False):
        dispatch_due()
    assert [m.subject for m in mail.outbox] == ["Please confirm your email address", "Day 2 for Cy"]


def test_an_unconfirmed_lead_is_never_mailed_again(settings: Any) -> None:
    settings.NURTURE_CONFIRMATION_DAYS = 7
    enrollment = _capture_on_double_opt_in_page()
    with time_machine.travel(START + timedelta(days=8), tick=False):
        dispatch_due()
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "unconfirmed")
    assert set(enrollment.deliveries.exclude(step__day=1).values_list("status", flat=True)) == {
        "cancelled"
    }


def test_a_tampered_confirmation_link_is_refused(client: Client) -> None:
    assert client.post("/c/forged/").status_code == 400


def _due_rows(sequence_count: dict[str, int]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for name, count in sequence_count.items():
        sequence = SequenceFactory(name=name)
        step = StepFactory(sequence=sequence, day=2)
        for _ in range(count):
            enrollment = Enrollment.objects.create(lead=LeadFactory(), sequence=sequence,
                                                   started_at=START)  # fmt: skip
            Delivery.objects.create(enrollment=enrollment, step=step, due_at=START)
        rows[name] = list(Delivery.objects.filter(step=step).values_list("pk", flat=True))
    return rows


def test_a_big_campaign_does_not_starve_a_small_sequence() -> None:
    rows = _due_rows({"big": 60, "small": 5, "medium": 12})
    claimed = set(claim_due_deliveries(limit=30, now=START + timedelta(hours=1)))
    assert len(claimed) == 30
    assert set(rows["small"]) <= claimed, "the small sequence gets all it needs"
    assert set(rows["medium"]) <= claimed
    assert len(claimed & set(rows["big"])) == 13


def test_the_hourly_quota_caps_each_tick(settings: Any) -> None:
    settings.NURTURE_MAX_PER_HOUR = 20
    settings.NURTURE_DISPATCH_BATCH = 500
    rows = _due_rows({"campaign": 30})
    now = START + timedelta(hours=1)
    Delivery.objects.filter(pk__in=rows["campaign"][:8]).update(status="sent", sent_at=now)
    assert sending_allowance(now=now) == 12
    with time_machine.travel(now, tick=False):
        result = dispatch_due()
    assert len(result.claimed) == 12
    assert sending_allowance(now=now) == 0


def test_the_per_second_quota_spreads_a_tick(settings: Any) -> None:
    settings.NURTURE_MAX_PER_SECOND = 2
    settings.NURTURE_TICK_SECONDS = 5
    assert sending_allowance() == 10


def _inline_data(sequence: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    data = {"name": sequence.name, "status": "active", "window_start_hour": 9,
            "window_end_hour": 17, "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
            "fallback_time_zone": "UTC", "steps-TOTAL_FORMS": str(len(steps)),
            "steps-INITIAL_FORMS": str(sum(1 for s in steps if s.get("id")))}  # fmt: skip
    for index, step in enumerate(steps):
        for key, value in step.items():
            if value is not None:
                data[f"steps-{index}-{key}"] = value
    return data


def test_editing_a_live_sequence_in_the_admin(client: Client) -> None:
    client.force_login(marketer())
    sequence = SequenceFactory(weekdays=list(range(7)))
    day1 = StepFactory(sequence=sequence, day=1)
    day4 = StepFactory(sequence=sequence, day=4)
    with time_machine.travel(START, tick=False), on_commit(execute=True):
        enrollment = enroll_lead(lead=LeadFactory(), sequence=sequence)
    assert enrollment is not None
    steps = [
        {"id": str(day1.pk), "sequence": str(sequence.pk), "day": "1", "subject": day1.subject,
         "body": day1.body, "is_active": "on"},
        {"id": str(day4.pk), "sequence": str(sequence.pk), "day": "4", "subject": day4.subject,
         "body": day4.body, "is_active": None},
        {"day": "2", "subject": "Added later", "body": "New", "is_active": "on"},
    ]  # fmt: skip
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        response = client.post(f"/admin/nurture/sequence/{sequence.pk}/change/",
                               _inline_data(sequence, steps))  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    added = Step.objects.get(subject="Added later")
    assert Delivery.objects.get(enrollment=enrollment, step=added).status == "scheduled"
    assert Delivery.objects.get(enrollment=enrollment, step=day4).status == "cancelled"

    steps[1]["DELETE"] = "on"
    steps[0]["DELETE"] = "on"
    steps[2]["id"], steps[2]["sequence"] = str(added.pk), str(sequence.pk)
    response = client.post(f"/admin/nurture/sequence/{sequence.pk}/change/",
                           _inline_data(sequence, steps))  # fmt: skip
    assert response.status_code == 302
    assert Step.objects.filter(pk=day1.pk, is_active=False).exists(), "sent: kept, switched off"
    assert not Step.objects.filter(pk=day4.pk).exists(), "never sent: deleted"


def test_rows_still_queued_count_against_the_next_tick(settings: Any) -> None:
    settings.NURTURE_DISPATCH_BATCH = 10
    rows = _due_rows({"campaign": 12})
    Delivery.objects.filter(pk__in=rows["campaign"][:4]).update(status="queued")
    assert sending_allowance() == 6, "slow workers are not handed more than they can take"
