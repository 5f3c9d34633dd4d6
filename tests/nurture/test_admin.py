"""The sequence admin: building and editing a day list with its steps (through the step
services, as the API does), who may, previews and test sends, a lead's deliveries."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from nurture.models import Delivery, Enrollment, Step
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, SequenceFactory, StepFactory, marketer, playbook_sequence

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
on_commit = TestCase.captureOnCommitCallbacks


@pytest.fixture
def enrollment() -> Enrollment:
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(START, tick=False), on_commit(execute=True):
        enrolled = enroll_lead(lead=LeadFactory(first_name="Ada"), sequence=sequence)
    assert enrolled is not None
    return enrolled


def test_the_step_form_refuses_unknown_merge_fields(client: Client) -> None:
    client.force_login(marketer())
    response = client.post(
        "/admin/nurture/sequence/add/",
        {
            "name": "S",
            "status": "active",
            "window_start_hour": 9,
            "window_end_hour": 17,
            "weekdays": ["0", "1"],
            "fallback_time_zone": "UTC",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-day": "1",
            "steps-0-subject": "Hi {{ first_nmae }}",
            "steps-0-body": "Hello",
            "steps-0-is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Unknown merge field first_nmae" in response.content.decode()
    assert not Delivery.objects.exists()


def test_a_marketer_builds_a_sequence_in_the_admin(client: Client) -> None:
    client.force_login(marketer())
    response = client.post(
        "/admin/nurture/sequence/add/",
        {
            "name": "Webinar follow-up",
            "status": "active",
            "window_start_hour": 8,
            "window_end_hour": 18,
            "weekdays": ["0", "1", "2", "3", "4"],
            "fallback_time_zone": "Europe/Paris",
            "track_engagement": "on",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-0-day": "1",
            "steps-0-subject": "Thanks {{ first_name }}",
            "steps-0-body": "See you soon",
            "steps-0-is_active": "on",
            "steps-1-day": "3",
            "steps-1-subject": "Slides",
            "steps-1-body": "Here",
            "steps-1-cta_label": "Book",
            "steps-1-cta_url": "{{ booking_url }}",
            "steps-1-only_temperatures": ["hot", "warm"],
            "steps-1-is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    from nurture.models import Sequence

    sequence = Sequence.objects.get(name="Webinar follow-up")
    assert list(sequence.steps.values_list("day", "only_temperatures")) == [
        (1, []),
        (3, ["hot", "warm"]),
    ]
    assert sequence.weekdays == [0, 1, 2, 3, 4]
    page = client.get(f"/admin/nurture/sequence/{sequence.pk}/change/").content.decode()
    assert "Day 1</strong> — Thanks {{ first_name }}" in page.replace("&#x27;", "'")


def test_sales_reps_cannot_edit_sequences(client: Client) -> None:
    from tests.factories import sales_rep

    client.force_login(sales_rep())
    assert client.get("/admin/nurture/sequence/add/").status_code == 302


def test_marketers_see_the_deliveries_of_a_lead(
    client: Client, enrollment: Enrollment, settings: Any
) -> None:
    client.force_login(marketer())
    page = client.get(f"/admin/nurture/enrollment/{enrollment.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("Scheduled") >= 4 and "Sent" in html


def _inline_data(sequence: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        "name": sequence.name,
        "status": "active",
        "window_start_hour": 9,
        "window_end_hour": 17,
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "fallback_time_zone": "UTC",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(sum(1 for s in steps if s.get("id"))),
    }
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
        {
            "id": str(day1.pk),
            "sequence": str(sequence.pk),
            "day": "1",
            "subject": day1.subject,
            "body": day1.body,
            "is_active": "on",
        },
        {
            "id": str(day4.pk),
            "sequence": str(sequence.pk),
            "day": "4",
            "subject": day4.subject,
            "body": day4.body,
            "is_active": None,
        },
        {"day": "2", "subject": "Added later", "body": "New", "is_active": "on"},
    ]
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        response = client.post(
            f"/admin/nurture/sequence/{sequence.pk}/change/", _inline_data(sequence, steps)
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    added = Step.objects.get(subject="Added later")
    assert Delivery.objects.get(enrollment=enrollment, step=added).status == "scheduled"
    assert Delivery.objects.get(enrollment=enrollment, step=day4).status == "cancelled"

    steps[1]["DELETE"] = "on"
    steps[0]["DELETE"] = "on"
    steps[2]["id"], steps[2]["sequence"] = str(added.pk), str(sequence.pk)
    response = client.post(
        f"/admin/nurture/sequence/{sequence.pk}/change/", _inline_data(sequence, steps)
    )
    assert response.status_code == 302
    assert Step.objects.filter(pk=day1.pk, is_active=False).exists(), "sent: kept, switched off"
    assert not Step.objects.filter(pk=day4.pk).exists(), "never sent: deleted"


def test_the_admin_previews_and_test_sends_a_step(client: Client) -> None:
    from tests.factories import marketer

    user = marketer()
    user.email = "me@leadfunnel.example"
    user.save()
    client.force_login(user)
    step = StepFactory(body="Hi {{ first_name }}, see {{ booking_url }}")
    url = f"/admin/nurture/step/{step.pk}/preview/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Hi Alex" in page.content.decode() or "Hi " in page.content.decode()
    assert client.post(url).status_code == 302
    assert mail.outbox[-1].to == ["me@leadfunnel.example"]
    assert mail.outbox[-1].subject.startswith("[Test] ")
