"""POST /api/v1/activities/: behavioural events from integrations, one or a batch."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from capture.models import Activity, Lead
from capture.signals import activity_recorded
from capture.tracking import tracking_token
from scoring.models import ScoringRule
from tests.capture.ingest.support import error_fields, post_json, token_client
from tests.factories import LeadFactory, marketer, sales_rep

pytestmark = pytest.mark.django_db
URL = "/api/v1/activities/"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def api(db: None) -> Client:
    return token_client(marketer())


@pytest.fixture
def lead(db: None) -> Lead:
    return LeadFactory(email="ada@example.com")


def _view(**overrides: Any) -> dict[str, Any]:
    event = {
        "kind": "page_viewed",
        "email": "ada@example.com",
        "url": "https://www.example.com/pricing",
        "title": "Pricing",
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


def test_it_records_one_page_view_by_email(api: Client, lead: Lead) -> None:
    with time_machine.travel(NOW, tick=False):
        response = post_json(api, URL, _view(email="ADA@example.com"))
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 1}
    activity = Activity.objects.get()
    assert (activity.lead, activity.kind, activity.occurred_at) == (lead, "page_viewed", NOW)
    assert activity.metadata == {
        "url": "https://www.example.com/pricing",
        "title": "Pricing",
        "source": "api",
    }


def test_it_records_a_custom_event_by_lead_id_with_its_time(api: Client, lead: Lead) -> None:
    at = "2026-02-01T10:15:00+01:00"
    event = {
        "kind": "custom",
        "lead": lead.pk,
        "name": "webinar_registered",
        "properties": {"webinar": "Q3 roadmap", "seats": 2},
        "occurred_at": at,
    }
    assert post_json(api, URL, event).status_code == 201
    activity = Activity.objects.get()
    assert activity.kind == "custom"
    assert activity.occurred_at == datetime(2026, 2, 1, 9, 15, tzinfo=UTC)
    assert activity.metadata == {
        "name": "webinar_registered",
        "properties": {"webinar": "Q3 roadmap", "seats": 2},
        "source": "api",
    }


def test_it_identifies_a_lead_by_its_tracking_token(api: Client, lead: Lead) -> None:
    event = _view(email=..., tracking_token=tracking_token(lead.uid))
    assert post_json(api, URL, event).status_code == 201
    assert Activity.objects.get().lead == lead


def test_a_batch_of_500_is_recorded_and_rescores_each_lead_once(
    api: Client, lead: Lead, django_capture_on_commit_callbacks: Any
) -> None:
    other = LeadFactory()
    ScoringRule.objects.create(
        name="Pricing",
        kind=ScoringRule.Kind.ENGAGEMENT,
        activity_kind="page_viewed",
        pattern="/pricing",
        points=10,
        max_occurrences=3,
    )
    events = [_view() for _ in range(499)] + [
        _view(email=..., lead=other.pk, url="https://x.example/")
    ]
    sent: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs)

    activity_recorded.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_json(api, URL, {"events": events})
    finally:
        activity_recorded.disconnect(receiver)
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 500}
    assert Activity.objects.filter(lead=lead).count() == 499
    assert sorted(s["lead_id"] for s in sent) == sorted([lead.pk, other.pk])
    lead.refresh_from_db()
    assert lead.score == 30, "three pricing views count (max_occurrences=3)"
    other.refresh_from_db()
    assert other.score == 0


def test_a_batch_of_501_is_refused_naming_the_field(api: Client, lead: Lead) -> None:
    response = post_json(api, URL, {"events": [_view() for _ in range(501)]})
    assert response.status_code == 400
    assert "events" in error_fields(response)
    assert "500" in error_fields(response)["events"][0]
    assert not Activity.objects.exists()


def test_one_bad_event_refuses_the_whole_batch_naming_its_index(api: Client, lead: Lead) -> None:
    events = [_view(), _view(), _view(), _view(url=...), _view(kind="custom", name="x y!")]
    response = post_json(api, URL, {"events": events})
    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {"events[3].url", "events[4].name"}, fields
    assert "events[3].url" in response.json()["error"]["message"]
    assert not Activity.objects.exists()


def test_an_unknown_lead_refuses_the_batch_naming_the_event(api: Client, lead: Lead) -> None:
    forged = tracking_token("00000000-0000-4000-8000-000000000000")
    events = [
        _view(),
        _view(email="nobody@example.com"),
        _view(email=..., lead=987654),
        _view(email=..., tracking_token=forged),
        _view(email=..., tracking_token="garbage"),
    ]
    response = post_json(api, URL, {"events": events})
    assert response.status_code == 400
    assert set(error_fields(response)) == {
        "events[1].email",
        "events[2].lead",
        "events[3].tracking_token",
        "events[4].tracking_token",
    }
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_view(email=...), "lead"),
        (_view(lead=1), "email"),
        (_view(kind="clicked"), "kind"),
        (_view(url="javascript:alert(1)"), "url"),
        (_view(url="https://example.com/" + "a" * 2000), "url"),
        (_view(title=["a"]), "title"),
        ({"kind": "custom", "email": "ada@example.com"}, "name"),
        (
            {"kind": "custom", "email": "ada@example.com", "name": "n", "properties": [1]},
            "properties",
        ),
        (
            {
                "kind": "custom",
                "email": "ada@example.com",
                "name": "n",
                "properties": {"note": "a\x00b"},
            },
            "properties",
        ),
        (
            {
                "kind": "custom",
                "email": "ada@example.com",
                "name": "n",
                "properties": {"blob": "x" * 9000},
            },
            "properties",
        ),
        (_view(occurred_at="2026-03-02T12:00:00"), "occurred_at"),
        (_view(occurred_at="yesterday"), "occurred_at"),
        (_view(occurred_at="2026-03-02T12:30:00Z"), "occurred_at"),
        (_view(email="not-an-email"), "email"),
        (_view(email=..., lead="seven"), "lead"),
    ],
    ids=[
        "no lead",
        "two ways to name the lead",
        "unknown kind",
        "script url",
        "long url",
        "title not a string",
        "custom without name",
        "properties not an object",
        "nul in properties",
        "huge properties",
        "naive time",
        "unparsable time",
        "future time",
        "bad email",
        "lead not a number",
    ],
)
def test_a_single_bad_event_is_refused_naming_the_field(
    api: Client, lead: Lead, event: dict[str, Any], field: str
) -> None:
    with time_machine.travel(NOW, tick=False):
        response = post_json(api, URL, event)
    assert response.status_code == 400, response.content
    assert field in error_fields(response), error_fields(response)
    assert not Activity.objects.exists()


def test_a_time_a_little_ahead_of_ours_is_accepted(api: Client, lead: Lead) -> None:
    with time_machine.travel(NOW, tick=False):
        ahead = (NOW + timedelta(minutes=2)).isoformat()
        assert post_json(api, URL, _view(occurred_at=ahead)).status_code == 201


def test_a_retry_with_the_same_idempotency_key_records_once(api: Client, lead: Lead) -> None:
    headers = {"headers": {"Idempotency-Key": "batch-1"}}
    body = {"events": [_view(), _view()]}
    assert post_json(api, URL, body, **headers).status_code == 201
    retry = post_json(api, URL, body, **headers)
    assert retry.status_code == 201
    assert retry.json() == {"accepted": 2}
    assert Activity.objects.count() == 2


def test_anonymous_is_401_and_a_sales_rep_is_403(lead: Lead) -> None:
    anonymous = post_json(Client(), URL, _view())
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert post_json(token_client(sales_rep()), URL, _view()).status_code == 403
    assert not Activity.objects.exists()


def test_a_session_works_too(client: Client, lead: Lead) -> None:
    client.force_login(marketer())
    assert post_json(client, URL, _view()).status_code == 201
