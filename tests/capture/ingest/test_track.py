"""POST /api/v1/track/: track.js's beacons become page views that rescore the lead."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client

from api.throttling import AddressRateThrottle
from capture.models import Activity, Lead
from capture.tracking import tracking_token
from scoring.demo import DEFAULT_RULES
from scoring.models import ScoringRule
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/track/"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PRICING = "https://www.example.com/pricing?plan=team"


@pytest.fixture
def lead(db: None) -> Lead:
    return LeadFactory()


@pytest.fixture
def pricing_rule(db: None) -> ScoringRule:
    """The demo's own "Pricing page view" rule: +10 per view, three at most."""
    values = next(rule for rule in DEFAULT_RULES if rule["name"] == "Pricing page view")
    return ScoringRule.objects.create(**values)


def _beacon(token: str, *urls: str, **view: Any) -> dict[str, Any]:
    return {
        "token": token,
        "events": [{"url": url, "title": "T", "referrer": "", **view} for url in urls],
    }


def _send(client: Client, body: Any, content_type: str = "text/plain;charset=UTF-8") -> Any:
    return client.generic("POST", URL, json.dumps(body), content_type=content_type)


def test_a_beacon_records_page_views_and_a_pricing_view_moves_the_score(
    client: Client, lead: Lead, pricing_rule: ScoringRule, django_capture_on_commit_callbacks: Any
) -> None:
    beacon = _beacon(
        tracking_token(lead.uid), "https://www.example.com/", PRICING, at="2026-03-02T11:59:30.120Z"
    )
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = _send(client, beacon)
    assert response.status_code == 204, response.content
    views = Activity.objects.filter(lead=lead, kind="page_viewed").order_by("id")
    assert [view.metadata["url"] for view in views] == ["https://www.example.com/", PRICING]
    assert views[0].metadata == {
        "url": "https://www.example.com/",
        "title": "T",
        "source": "tracking",
    }
    assert views[0].occurred_at == datetime(2026, 3, 2, 11, 59, 30, 120000, tzinfo=UTC)
    lead.refresh_from_db()
    assert lead.score == 10
    assert lead.score_changes.filter(cause="activity").exists()


def test_application_json_is_accepted_too(client: Client, lead: Lead) -> None:
    response = _send(client, _beacon(tracking_token(lead.uid), PRICING), "application/json")
    assert response.status_code == 204
    assert Activity.objects.filter(lead=lead).count() == 1


def _forged_tokens(lead: Lead) -> dict[str, str]:
    uid = str(lead.uid)
    genuine = tracking_token(lead.uid)
    return {
        "garbage": "not-a-token",
        "empty": "",
        "another salt": signing.dumps(uid, salt="sales.booking"),
        "another key": signing.dumps(uid, key="someone-elses-secret", salt="capture.tracking"),
        "edited": genuine[:5] + ("A" if genuine[5] != "A" else "B") + genuine[6:],
        "unsigned": signing.b64_encode(json.dumps(uid).encode()).decode(),
        "erased lead": tracking_token("00000000-0000-4000-8000-000000000000"),
        "not a uuid": signing.dumps("../../etc", salt="capture.tracking"),
        "not a string": 12345,  # type: ignore[dict-item]
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "empty",
        "another salt",
        "another key",
        "edited",
        "unsigned",
        "erased lead",
        "not a uuid",
        "not a string",
    ],
)
def test_a_bad_or_forged_token_is_400_with_one_generic_message_and_writes_nothing(
    client: Client, lead: Lead, kind: str
) -> None:
    token = _forged_tokens(lead)[kind]
    response = _send(client, _beacon(token, PRICING))  # type: ignore[arg-type]
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["token"]
    assert error["fields"]["token"][0] in (
        "This tracking token is not valid.",
        "This field may not be blank.",
        "Not a valid string.",
    )
    assert not Activity.objects.exists()


def test_an_expired_token_is_refused_like_a_forged_one(client: Client, lead: Lead) -> None:
    with time_machine.travel(NOW - timedelta(days=731), tick=False):
        old = tracking_token(lead.uid)
    with time_machine.travel(NOW - timedelta(days=729), tick=False):
        assert _send(client, _beacon(old, PRICING)).status_code == 204
    with time_machine.travel(NOW, tick=False):
        response = _send(client, _beacon(old, PRICING))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"token": ["This tracking token is not valid."]}
    assert Activity.objects.count() == 1


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([], "events"),
        ([{"url": PRICING}] * 51, "events"),
        ([{"url": PRICING}, {"title": "no url"}], "events[1].url"),
        ([{"url": "javascript:alert(1)"}], "events[0].url"),
        ([{"url": PRICING, "at": "2026-03-02 11:00"}], "events[0].at"),
        ([{"url": PRICING, "title": "x" * 301}], "events[0].title"),
        ("not a list", "events"),
    ],
    ids=["none", "51", "missing url", "script url", "naive time", "long title", "not a list"],
)
def test_a_bad_beacon_is_refused_whole(client: Client, lead: Lead, events: Any, field: str) -> None:
    response = _send(client, {"token": tracking_token(lead.uid), "events": events})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Activity.objects.exists()


def test_a_wrong_browser_clock_is_replaced_by_the_arrival_time(client: Client, lead: Lead) -> None:
    beacon = _beacon(tracking_token(lead.uid), PRICING, at="2031-01-01T00:00:00Z")
    beacon["events"].append({"url": PRICING, "at": "1999-01-01T00:00:00Z"})
    with time_machine.travel(NOW, tick=False):
        assert _send(client, beacon).status_code == 204
    assert {a.occurred_at for a in Activity.objects.all()} == {NOW}


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
def test_a_beacon_marked_do_not_track_is_dropped(
    client: Client, lead: Lead, header: dict[str, str]
) -> None:
    body = json.dumps(_beacon(tracking_token(lead.uid), PRICING))
    response = client.generic("POST", URL, body, content_type="text/plain", headers=header)
    assert response.status_code == 204
    assert not Activity.objects.exists()


def test_beacons_are_throttled_per_address(
    client: Client, lead: Lead, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": None})
    beacon = _beacon(tracking_token(lead.uid), PRICING)
    assert [_send(client, beacon).status_code for _ in range(3)] == [204, 204, 429]
    assert Activity.objects.count() == 2


def test_the_endpoint_ignores_a_login_session_and_csrf(lead: Lead) -> None:
    client = Client(enforce_csrf_checks=True)
    assert _send(client, _beacon(tracking_token(lead.uid), PRICING)).status_code == 204
