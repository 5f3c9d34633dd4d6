"""Each of the five events fires from the real flow that causes it, once, on commit."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User

from capture.models import LandingPage, Lead
from leadfunnel.groups import SALES_REPS
from nurture.services.engagement import unsubscribe
from sales.models import RepProfile
from sales.services.booking import book_slot
from sales.services.leads import move_stage
from scoring.services import score_lead
from tests.factories import CampaignFactory, FitRuleFactory, LeadFactory
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import Endpoint, Event, EventType

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def _lead_fields(data: dict[str, Any]) -> set[str]:
    return set(data["lead"])


LEAD_FIELDS = {
    "id",
    "uid",
    "email",
    "first_name",
    "last_name",
    "name",
    "company",
    "job_title",
    "stage",
    "score",
    "temperature",
    "owner_email",
    "source",
    "campaign",
    "created_at",
}


def _rep(username: str = "rita") -> RepProfile:
    user = User.objects.create_user(
        username, email=f"{username}@leadfunnel.example", first_name="Rita", last_name="Rep"
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    return RepProfile.objects.create(
        user=user, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30
    )


def test_a_new_lead_from_a_form_fires_lead_created_once(
    receiver: Receiver,
    endpoint: Endpoint,
    page: LandingPage,
    submit: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = CampaignFactory(utm_campaign="spring")
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(page, utm_source="newsletter", utm_campaign="spring")
    assert response.status_code == 302
    [got] = receiver.of_type("lead.created")
    assert got.signature_valid
    lead = got.json["data"]["lead"]
    assert _lead_fields(got.json["data"]) == LEAD_FIELDS
    stored = Lead.objects.get()
    assert lead["id"] == stored.pk and lead["uid"] == str(stored.uid)
    assert (lead["email"], lead["name"], lead["company"]) == (
        "ada@example.com",
        "Ada Lovelace",
        "Analytical Engines Ltd",
    )
    assert (lead["stage"], lead["source"]) == ("new", "newsletter")
    assert lead["campaign"] == {"id": campaign.pk, "name": campaign.name, "utm_campaign": "spring"}

    with django_capture_on_commit_callbacks(execute=True):
        submit(page)  # the same address again: an update, not a new lead
    assert len(receiver.of_type("lead.created")) == 1


def test_a_lead_scored_hot_fires_lead_hot(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(points=70)  # "job title contains director": hot at 60
    lead = LeadFactory(job_title="Director of Sales")
    with django_capture_on_commit_callbacks(execute=True):
        score_lead(lead_id=lead.pk)
    [got] = receiver.of_type("lead.hot")
    assert got.signature_valid
    data = got.json["data"]
    assert data["lead"]["temperature"] == "hot" and data["lead"]["score"] == 70
    assert data["previous_temperature"] == "cold"
    with django_capture_on_commit_callbacks(execute=True):
        score_lead(lead_id=lead.pk)  # still hot: no new episode
    assert len(receiver.of_type("lead.hot")) == 1


def test_a_rep_moving_the_stage_fires_lead_stage_changed(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    rep = _rep()
    lead = LeadFactory(owner=rep.user)
    with django_capture_on_commit_callbacks(execute=True):
        move_stage(lead_id=lead.pk, actor=rep.user, stage=Lead.Stage.CONTACTED)
    [got] = receiver.of_type("lead.stage_changed")
    data = got.json["data"]
    assert (data["old_stage"], data["new_stage"]) == ("new", "contacted")
    assert data["changed_by"] == "rita@leadfunnel.example"
    assert data["lead"]["stage"] == "contacted"
    assert data["lead"]["owner_email"] == "rita@leadfunnel.example"


def test_a_booking_fires_booking_created_and_the_move_to_booked(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    _rep()
    lead = LeadFactory()
    starts_at = datetime(2026, 3, 2, 14, 0, tzinfo=BERLIN)
    with (
        time_machine.travel(datetime(2026, 3, 2, 7, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = book_slot(lead=lead, starts_at=starts_at)
    [got] = receiver.of_type("booking.created")
    data = got.json["data"]
    assert data["booking"] == {
        "id": booking.pk,
        "starts_at": "2026-03-02T13:00:00Z",
        "ends_at": "2026-03-02T13:30:00Z",
        "rep": {"name": "Rita Rep", "email": "rita@leadfunnel.example"},
    }
    assert data["lead"]["stage"] == "booked"
    [moved] = receiver.of_type("lead.stage_changed")
    assert moved.json["data"]["new_stage"] == "booked" and moved.json["data"]["changed_by"] is None


def test_unsubscribing_fires_lead_unsubscribed_once(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        unsubscribe(lead_id=lead.pk)
    with django_capture_on_commit_callbacks(execute=True):
        unsubscribe(lead_id=lead.pk)  # a second click changes nothing
    [got] = receiver.of_type("lead.unsubscribed")
    assert got.json["data"]["lead"]["email"] == lead.email


def test_an_endpoint_gets_only_the_events_it_subscribed_to(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    EndpointFactory(url=receiver.url, secret=receiver.secret, events=[EventType.LEAD_HOT])
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        unsubscribe(lead_id=lead.pk)
    assert receiver.received == [] and not Event.objects.exists()


def test_a_webhook_failure_never_breaks_the_flow_that_announced_it(
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "_create", broken)
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        unsubscribe(lead_id=lead.pk)
    assert "Could not publish lead.unsubscribed" in caplog.text


def test_a_lead_created_through_the_api_fires_lead_created_once(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    from rest_framework.test import APIClient

    from tests.factories import marketer

    client = APIClient()
    client.force_authenticate(marketer())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/leads/", {"email": "Api.Made@Example.com"}, format="json")
    assert response.status_code == 201, response.content
    [got] = receiver.of_type("lead.created")
    assert got.signature_valid
    assert got.json["data"]["lead"]["email"] == "api.made@example.com"
