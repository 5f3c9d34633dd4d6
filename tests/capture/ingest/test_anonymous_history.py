"""Anonymous-visitor history: page views under track.js's visitor id, joined to the lead when
that browser submits a form, follows an emailed link or is identified; bounded and expiring."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from capture.anonymous import COOKIE_NAME, expire_anonymous, join_visitor
from capture.models import Activity, AnonymousView, Lead
from capture.tracking import tracking_token
from nurture import tokens
from nurture.models import Delivery, Enrollment
from scoring.demo import DEFAULT_RULES
from scoring.models import ScoringRule
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory, SequenceFactory, StepFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/track/"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PRICING = "https://www.example.com/pricing?plan=team"
VISITOR = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def pricing_rule(db: None) -> ScoringRule:
    values = next(rule for rule in DEFAULT_RULES if rule["name"] == "Pricing page view")
    return ScoringRule.objects.create(**values)


def _send(client: Client, body: Any, **headers: str) -> Any:
    return client.generic("POST", URL, json.dumps(body), content_type="text/plain", headers=headers)


def _views(*urls: str, at: str = "2026-03-02T11:58:00Z") -> list[dict[str, Any]]:
    return [
        {"url": url, "title": "Pricing", "referrer": "https://ads.example/", "at": at}
        for url in urls
    ]


def _anonymous(client: Client, *urls: str, visitor: str = VISITOR) -> Any:
    with time_machine.travel(NOW, tick=False):
        return _send(client, {"visitor": visitor, "events": _views(*urls)})


def test_a_visitor_beacon_is_kept_anonymously_and_records_no_activity(client: Client) -> None:
    response = _anonymous(client, "https://www.example.com/", PRICING)
    assert response.status_code == 204, response.content
    rows = list(
        AnonymousView.objects.order_by("pk").values(
            "visitor", "url", "title", "referrer", "occurred_at"
        )
    )
    assert rows == [
        {
            "visitor": VISITOR,
            "url": url,
            "title": "Pricing",
            "referrer": "https://ads.example/",
            "occurred_at": datetime(2026, 3, 2, 11, 58, tzinfo=UTC),
        }
        for url in ("https://www.example.com/", PRICING)
    ]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"visitor": "not-hex", "events": _views(PRICING)}, "visitor"),
        ({"visitor": VISITOR.upper(), "events": _views(PRICING)}, "visitor"),
        ({"events": _views(PRICING)}, "token"),
        ({"visitor": VISITOR, "events": []}, "events"),
    ],
)
def test_a_bad_visitor_beacon_is_refused_and_keeps_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = _send(client, body)
    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert not AnonymousView.objects.exists()


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
def test_do_not_track_keeps_no_anonymous_view(client: Client, header: dict[str, str]) -> None:
    response = _send(client, {"visitor": VISITOR, "events": _views(PRICING)}, **header)
    assert response.status_code == 204
    assert not AnonymousView.objects.exists()


def test_a_visitor_id_holds_at_most_the_configured_number_of_views(
    client: Client, settings: Any
) -> None:
    settings.TRACKING_ANONYMOUS_MAX_EVENTS = 3
    assert (
        _anonymous(client, "https://www.example.com/a", "https://www.example.com/b").status_code
        == 204
    )
    assert (
        _anonymous(client, "https://www.example.com/c", "https://www.example.com/d").status_code
        == 204
    )
    assert _anonymous(client, "https://www.example.com/e").status_code == 204
    kept = AnonymousView.objects.order_by("pk").values_list("url", flat=True)
    assert list(kept) == [f"https://www.example.com/{x}" for x in "abc"]
    # Another browser has its own allowance.
    _anonymous(client, PRICING, visitor="f" * 32)
    assert AnonymousView.objects.filter(visitor="f" * 32).count() == 1


def test_submitting_a_form_joins_the_history_to_the_lead_and_its_score(
    client: Client,
    settings: Any,
    pricing_rule: ScoringRule,
    django_capture_on_commit_callbacks: Any,
) -> None:
    page = LandingPageFactory()
    _anonymous(client, "https://www.example.com/", PRICING)
    _anonymous(client, PRICING, visitor="e" * 32)  # someone else's browser
    form_url = reverse("capture:landing_page", args=[page.slug])
    client.cookies[COOKIE_NAME] = VISITOR
    with (
        time_machine.travel(NOW + timedelta(minutes=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(form_url, valid_form_data())
    assert response.status_code == 302, response.content
    lead = Lead.objects.get(email="ada@example.com")
    views = Activity.objects.filter(lead=lead, kind="page_viewed").order_by("occurred_at", "pk")
    assert [(v.metadata["url"], v.occurred_at) for v in views] == [
        ("https://www.example.com/", datetime(2026, 3, 2, 11, 58, tzinfo=UTC)),
        (PRICING, datetime(2026, 3, 2, 11, 58, tzinfo=UTC)),
    ]
    assert views[0].metadata == {
        "url": "https://www.example.com/",
        "title": "Pricing",
        "referrer": "https://ads.example/",
        "source": "tracking",
        "before_known": True,
        "joined_by": "form",
    }
    assert list(AnonymousView.objects.values_list("visitor", flat=True)) == ["e" * 32]
    lead.refresh_from_db()
    assert lead.score >= 10, "the pricing view read before the form counts"
    # The rows moved: a second join finds nothing to add.
    assert join_visitor(visitor=VISITOR, lead_id=lead.pk, via="form") == 0
    assert Activity.objects.filter(lead=lead, kind="page_viewed").count() == 2


def test_a_beacon_with_a_token_joins_that_browsers_anonymous_views_first(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    lead = LeadFactory()
    _anonymous(client, PRICING)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        body = {
            "token": tracking_token(lead.uid),
            "visitor": VISITOR,
            "events": _views("https://www.example.com/contact", at="2026-03-02T11:59:00Z"),
        }
        response = _send(client, body)
    assert response.status_code == 204, response.content
    urls = (
        Activity.objects.filter(lead=lead)
        .order_by("occurred_at")
        .values_list("metadata__url", "metadata__joined_by")
    )
    assert list(urls) == [(PRICING, "identified"), ("https://www.example.com/contact", None)]
    assert not AnonymousView.objects.exists()


def test_a_forged_token_with_a_visitor_id_joins_nothing(client: Client) -> None:
    _anonymous(client, PRICING)
    response = _send(client, {"token": "forged", "visitor": VISITOR, "events": _views(PRICING)})
    assert response.status_code == 400
    assert AnonymousView.objects.count() == 1
    assert not Activity.objects.exists()


def test_following_an_emailed_link_joins_the_browsers_history(client: Client) -> None:
    lead = LeadFactory()
    step = StepFactory(sequence=SequenceFactory())
    enrollment = Enrollment.objects.create(lead=lead, sequence=step.sequence, started_at=NOW)
    delivery = Delivery.objects.create(
        enrollment=enrollment,
        step=step,
        due_at=NOW,
        status="sent",
        sent_at=NOW - timedelta(hours=1),
    )
    _anonymous(client, PRICING)
    token = tokens.click_token(
        delivery_id=delivery.pk, lead_uid=lead.uid, url="https://www.example.com/case-study"
    )
    client.cookies[COOKIE_NAME] = VISITOR
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"}
    response = client.get(reverse("nurture:click", args=[token]), headers=browser)
    assert response.status_code == 302
    joined = Activity.objects.filter(lead=lead, kind="page_viewed")
    assert [(a.metadata["url"], a.metadata["joined_by"]) for a in joined] == [(PRICING, "email")]
    assert not AnonymousView.objects.exists()


def test_views_never_joined_expire_after_the_configured_days(client: Client, settings: Any) -> None:
    settings.TRACKING_ANONYMOUS_DAYS = 30
    with time_machine.travel(NOW - timedelta(days=31), tick=False):
        _send(client, {"visitor": "a" * 32, "events": _views(PRICING, at="2026-01-30T11:00:00Z")})
    with time_machine.travel(NOW - timedelta(days=29), tick=False):
        _send(client, {"visitor": "b" * 32, "events": _views(PRICING, at="2026-02-01T11:00:00Z")})
    assert expire_anonymous(now=NOW) == 1
    assert list(AnonymousView.objects.values_list("visitor", flat=True)) == ["b" * 32]
