"""Double opt-in: only the confirmation until the lead confirms, and a tampered link refused.

The ESP quotas and their fair sharing are in test_dispatching.py, the admin in test_admin.py.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from capture.services import Tracking, capture_submission
from nurture.models import ConsentRecord, Enrollment
from nurture.services.dispatching import hand_out_due
from nurture.services.exiting import exit_enrollments
from tests.factories import (
    LandingPageFactory,
    playbook_sequence,
)

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
on_commit = TestCase.captureOnCommitCallbacks


def _capture_on_double_opt_in_page() -> Enrollment:
    page = LandingPageFactory(double_opt_in=True)
    playbook_sequence(page=page, weekdays=list(range(7)))
    with time_machine.travel(START, tick=False), on_commit(execute=True):
        capture_submission(
            page=page,
            data={"email": "careful@example.com", "first_name": "Cy"},
            tracking=Tracking(),
        )
    return Enrollment.objects.get()


def test_double_opt_in_sends_only_the_confirmation_until_confirmed(client: Client) -> None:
    enrollment = _capture_on_double_opt_in_page()
    assert enrollment.needs_confirmation
    assert len(mail.outbox) == 1
    html = mail.outbox[0].alternatives[0][0]
    assert "Confirm my email address" in html
    (confirm_path,) = re.findall(r'href="http://localhost:8000(/c/[^"]+)"', html)

    with time_machine.travel(START + timedelta(days=3), tick=False):
        hand_out_due()
    assert len(mail.outbox) == 1, "nothing else before the click"
    assert client.get(confirm_path).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.confirmed_at is None, "a scanner's GET does not confirm"

    confirmed_at = START + timedelta(days=3, hours=1)
    with time_machine.travel(confirmed_at, tick=False):
        response = client.post(confirm_path)
    assert response.status_code == 200 and "you are confirmed" in response.content.decode()
    (proof,) = ConsentRecord.objects.filter(lead=enrollment.lead)
    assert (proof.action, proof.source, proof.topic, proof.recorded_at) == (
        "confirm",
        "confirm_link",
        None,
        confirmed_at,
    )
    day2 = enrollment.deliveries.get(step__day=2)
    assert day2.due_at == confirmed_at + timedelta(days=1), "the sequence starts from the click"
    with time_machine.travel(day2.due_at + timedelta(minutes=1), tick=False):
        hand_out_due()
    assert [m.subject for m in mail.outbox] == ["Please confirm your email address", "Day 2 for Cy"]


def test_the_confirmation_is_logged_when_the_lead_went_to_sales_first(client: Client) -> None:
    enrollment = _capture_on_double_opt_in_page()
    html = mail.outbox[0].alternatives[0][0]
    (confirm_path,) = re.findall(r'href="http://localhost:8000(/c/[^"]+)"', html)
    # Turned hot before clicking: the journey handed the lead to sales and ended.
    exit_enrollments(lead_id=enrollment.lead_id, reason=Enrollment.ExitReason.HANDED_TO_SALES)

    first = client.post(confirm_path)
    client.post(confirm_path)

    assert "you are confirmed" in first.content.decode()
    (proof,) = ConsentRecord.objects.filter(lead=enrollment.lead)
    assert (proof.action, proof.source) == ("confirm", "confirm_link")
    assert proof.detail == "Clicked the link in the confirmation email"


def test_a_confirm_link_after_unsubscribing_says_unsubscribed_and_confirms_nothing(
    client: Client,
) -> None:
    enrollment = _capture_on_double_opt_in_page()
    html = mail.outbox[0].alternatives[0][0]
    (confirm_path,) = re.findall(r'href="http://localhost:8000(/c/[^"]+)"', html)
    (unsubscribe_path,) = set(re.findall(r'href="http://localhost:8000(/u/[^"/]+/)"', html))
    assert client.post(unsubscribe_path).status_code == 200

    shown = client.get(confirm_path)
    response = client.post(confirm_path)

    for page in (shown, response):
        text = page.content.decode()
        assert page.status_code == 200
        assert "You are unsubscribed" in text and "careful@example.com" in text
        assert "you are confirmed" not in text
    enrollment.refresh_from_db()
    assert enrollment.confirmed_at is None
    (preferences,) = re.findall(r'href="(/u/[^"]+/)"', response.content.decode())
    assert client.get(preferences).status_code == 200


def test_an_unconfirmed_lead_is_never_mailed_again(settings: Any) -> None:
    settings.NURTURE_CONFIRMATION_DAYS = 7
    enrollment = _capture_on_double_opt_in_page()
    with time_machine.travel(START + timedelta(days=8), tick=False):
        hand_out_due()
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "unconfirmed")
    assert set(enrollment.deliveries.exclude(step__day=1).values_list("status", flat=True)) == {
        "cancelled"
    }


def test_a_tampered_confirmation_link_is_refused(client: Client) -> None:
    assert client.post("/c/forged/").status_code == 400
