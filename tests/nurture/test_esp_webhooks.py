"""ESP tracking webhooks, through django-anymail's real Postmark endpoint and its signal."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client, TestCase

from capture.models import Activity
from nurture.models import Delivery, Enrollment, Suppression
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrollment() -> Enrollment:
    with (
        time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        enrolled = enroll_lead(
            lead=LeadFactory(email="bouncy@example.com"), sequence=playbook_sequence()
        )
    assert enrolled is not None
    Delivery.objects.filter(enrollment=enrolled, step__day=1).update(message_id="pm-123")
    return enrolled


def _postmark(client: Client, payload: dict[str, Any]) -> Any:
    auth = base64.b64encode(b"hook:s3cret").decode()
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def test_a_postmark_hard_bounce_suppresses_and_exits(
    client: Client, settings: Any, enrollment: Enrollment
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    response = _postmark(
        client,
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": "pm-123",
            "Email": "bouncy@example.com",
            "Description": "The address does not exist.",
            "BouncedAt": "2026-03-02T09:01:00Z",
            "Details": "smtp;550 5.1.1 user unknown",
        },
    )
    assert response.status_code == 200
    assert Suppression.objects.get(email="bouncy@example.com").reason == "bounced"
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "suppressed")
    bounce = Activity.objects.get(lead=enrollment.lead, kind="email_bounced")
    assert bounce.metadata["delivery_id"] == enrollment.deliveries.get(step__day=1).pk


def test_the_webhook_refuses_a_wrong_secret(client: Client, settings: Any) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:other"}
    response = _postmark(client, {"RecordType": "Bounce", "Email": "a@example.com"})
    assert response.status_code in (400, 401, 403)
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    ("event_type", "reason"), [("complained", "complained"), ("unsubscribed", "unsubscribed")]
)
def test_complaints_and_esp_unsubscribes_suppress(
    enrollment: Enrollment, event_type: str, reason: str
) -> None:
    event = AnymailTrackingEvent(
        event_type=event_type, message_id="pm-123", recipient="bouncy@example.com"
    )
    tracking.send(sender=object, event=event, esp_name="Test")
    assert Suppression.objects.get(email="bouncy@example.com").reason == reason


def test_esp_opens_and_clicks_are_recorded(enrollment: Enrollment) -> None:
    Delivery.objects.filter(message_id="pm-123").update(sent_at=datetime(2026, 3, 1, tzinfo=UTC))
    for event_type in ("opened", "clicked"):
        event = AnymailTrackingEvent(
            event_type=event_type,
            message_id="pm-123",
            recipient="bouncy@example.com",
            click_url="https://example.com/pricing",
            user_agent="Mozilla/5.0 (X11; Linux)",
        )
        tracking.send(sender=object, event=event, esp_name="Test")
    kinds = set(Activity.objects.filter(lead=enrollment.lead).values_list("kind", flat=True))
    assert {"email_opened", "email_clicked"} <= kinds
