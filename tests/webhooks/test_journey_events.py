"""journey.entered and journey.converted: a lead entering a journey, and later booking,
reach a subscribed receiver once each, signed, with the journey and the enrollment."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User

from leadfunnel.groups import SALES_REPS
from nurture.models import Enrollment
from nurture.services import triggers
from sales.models import RepProfile
from sales.services.booking import book_slot
from tests.factories import LandingPageFactory, LeadFactory
from tests.journeys.builders import playbook
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks.models import EventType, WebhookDelivery

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _rep() -> RepProfile:
    user = User.objects.create_user(
        "rita", email="rita@leadfunnel.example", first_name="Rita", last_name="Rep"
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    return RepProfile.objects.create(
        user=user, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30
    )


def test_entering_and_then_booking_fire_journey_entered_and_journey_converted(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    EndpointFactory(
        url=receiver.url,
        secret=receiver.secret,
        events=[EventType.JOURNEY_ENTERED, EventType.JOURNEY_CONVERTED],
    )
    _rep()
    page = LandingPageFactory()
    journey = playbook(page=page, name="Consultation journey")
    lead = LeadFactory(email="ada@example.com", time_zone="Europe/Berlin")

    with (
        time_machine.travel(MONDAY, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        (enrollment,) = triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)

    [entered] = receiver.of_type("journey.entered")
    assert entered.signature_valid
    data = entered.json["data"]
    assert data["journey"] == {"id": journey.pk, "name": "Consultation journey"}
    assert data["enrollment"] == {
        "id": enrollment.pk,
        "round": 1,
        "trigger": "Landing-page submission",
        "state": "active",
        "started_at": "2026-03-02T07:00:00Z",
        "converted_at": None,
    }
    assert data["lead"]["email"] == "ada@example.com"
    assert receiver.of_type("journey.converted") == []

    with (
        time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        book_slot(lead=lead, starts_at=datetime(2026, 3, 4, 10, 0, tzinfo=BERLIN))

    [converted] = receiver.of_type("journey.converted")
    assert converted.signature_valid
    data = converted.json["data"]
    assert data["journey"]["id"] == journey.pk
    assert data["enrollment"]["id"] == enrollment.pk
    assert data["enrollment"]["state"] == "exited"
    assert data["enrollment"]["converted_at"] == "2026-03-03T08:00:00Z"
    assert data["goal"] == "goal: booked"
    assert data["lead"]["stage"] == "booked"
    assert Enrollment.objects.get().exit_reason == Enrollment.ExitReason.CONVERTED
    # One delivery per event, each delivered; entering once announces once.
    assert len(receiver.of_type("journey.entered")) == 1
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_endpoint_not_subscribed_hears_nothing(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    EndpointFactory(url=receiver.url, secret=receiver.secret, events=[EventType.LEAD_HOT])
    page = LandingPageFactory()
    playbook(page=page)
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    assert receiver.of_type("journey.entered") == []
    assert not WebhookDelivery.objects.exists()


def test_the_endpoint_form_offers_the_journey_events(admin_client: Any) -> None:
    page = admin_client.get("/admin/webhooks/endpoint/add/").content.decode()
    assert 'value="journey.entered"' in page
    assert 'value="journey.converted"' in page
    assert "journey.converted: a lead reached a journey&#x27;s goal" in page


def test_an_import_entering_many_leads_announces_each_with_one_endpoint_read(
    django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    from webhooks.models import Event

    journey = playbook(name="Expo follow-up")
    leads = LeadFactory.create_batch(5)
    ids = [lead.pk for lead in leads]
    # Nobody listens: the whole import's announcement is one read of the endpoints.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        triggers.enter_journey_in_bulk(journey=journey, lead_ids=ids[:2], trigger="CSV")
    with django_assert_max_num_queries(1):
        for callback in callbacks:
            callback()
    EndpointFactory(url="https://hooks.example.com/in", events=[EventType.JOURNEY_ENTERED])
    with django_capture_on_commit_callbacks(execute=True):
        triggers.enter_journey_in_bulk(journey=journey, lead_ids=ids[2:], trigger="CSV")
    entered = Event.objects.filter(type=EventType.JOURNEY_ENTERED)
    assert sorted(event.payload["lead"]["email"] for event in entered) == sorted(
        lead.email for lead in leads[2:]
    )
