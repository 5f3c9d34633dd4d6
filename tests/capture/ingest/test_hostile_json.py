"""Whatever JSON reaches the public endpoints: never a 500, a clear 4xx, nothing half-written.

The JSON counterpart of tests/security/test_hostile_input.py (issue 7): arbitrary unicode
(lone surrogates included, which JSON's \\u escapes can carry and PostgreSQL cannot store),
huge strings, nulls, wrong types and duplicate keys.
"""

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.parsers import MAX_JSON_DEPTH
from api.throttling import AddressRateThrottle
from capture.models import Activity, LandingPage
from capture.tracking import tracking_token
from tests.capture.ingest.support import api_capture_data, counts, post_json, token_client
from tests.factories import LandingPageFactory, LeadFactory, marketer

pytestmark = pytest.mark.django_db

FIELDS = [
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "phone",
    "answer",
    "consent",
    "website",
    "time_zone",
    "industry",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
]

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Cf"]), max_size=20),
    st.builds(
        lambda ch, n: ch * n,
        st.sampled_from(["a", "é", "𝔘", "\x00", "@"]),
        st.integers(min_value=1_000, max_value=200_000),
    ),
    st.sampled_from(["", "None", "null", "true", "on", "-1", "1e309", "Europe/London"]),
    st.emails().map(lambda email: email + "\x00"),
)
hostile_scalar = st.one_of(
    hostile_text,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
# (key, value) pairs, written out by hand so a key may repeat (duplicate keys in one object).
hostile_pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(FIELDS), st.text(max_size=20)), hostile_value),
    max_size=8,
)


def _object(pairs: list[tuple[str, Any]]) -> str:
    return "{" + ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs) + "}"


@pytest.fixture(autouse=True)
def _no_address_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of examples from one address within a minute are not what this tests."""
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"anon": None, "user": None})


@pytest.fixture
def hostile_page(db: None) -> LandingPage:
    return LandingPageFactory(slug="hostile-api")


def _assert_safe(response: Any, before: tuple[int, int, int]) -> None:
    assert response.status_code in (201, 400, 413), response.content[:500]
    if response.status_code >= 400:
        assert "error" in response.json()
    leads, submissions, activities = (
        after - was for after, was in zip(counts(), before, strict=True)
    )
    if response.status_code != 201:
        assert (leads, submissions, activities) == (0, 0, 0), "a refusal wrote something"
    else:
        # Either nothing (the honeypot) or one whole submission with its activity.
        assert submissions in (0, 1) and leads <= submissions and activities == submissions


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=hostile_pairs, keep_valid=st.booleans())
def test_a_hostile_json_submission_is_refused_or_stored_whole(
    hostile_page: LandingPage, settings: Any, pairs: list[tuple[str, Any]], keep_valid: bool
) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    # Mostly a valid submission with hostile fields, so the form's validation runs.
    base = list(api_capture_data().items()) if keep_valid else []
    before = counts()
    response = Client(raise_request_exception=False).generic(
        "POST",
        f"/api/v1/capture/{hostile_page.slug}/",
        _object(base + pairs),
        content_type="application/json",
    )
    _assert_safe(response, before)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-16",
            "text/plain",
            "application/json; charset=no-such-charset",
            "multipart/form-data",
        ]
    ),
)
def test_a_malformed_body_is_never_a_server_error(
    hostile_page: LandingPage, settings: Any, body: bytes, content_type: str
) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    before = counts()
    response = Client(raise_request_exception=False).generic(
        "POST", f"/api/v1/capture/{hostile_page.slug}/", body, content_type=content_type
    )
    assert response.status_code in (400, 413, 415), response.content[:500]
    assert "error" in response.json()
    assert counts() == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    views=st.lists(
        st.dictionaries(
            st.sampled_from(["url", "title", "referrer", "at", "extra"]),
            hostile_value,
            max_size=5,
        ),
        max_size=4,
    ),
    good_url=st.booleans(),
)
def test_a_hostile_beacon_is_refused_or_recorded_whole(
    hostile_page: LandingPage, views: list[dict[str, Any]], good_url: bool
) -> None:
    lead = LeadFactory()
    if good_url:
        views = [{**view, "url": "https://www.example.com/pricing"} for view in views]
    before = counts()
    body = json.dumps({"token": tracking_token(lead.uid), "events": views})
    response = Client(raise_request_exception=False).generic(
        "POST", "/api/v1/track/", body, content_type="text/plain"
    )
    assert response.status_code in (204, 400, 413), response.content[:500]
    added = counts()[2] - before[2]
    assert added == (len(views) if response.status_code == 204 else 0)


# JSON nested far deeper than any real payload. 20,000 levels make the parser itself run out
# of stack; 200 levels parse, but would reach the serializers, the error flattening and
# PostgreSQL's jsonb (each recursive) nested that deep.
DEEP_JSON = [
    pytest.param("[" * 20_000 + "]" * 20_000, id="20000-deep-array"),
    pytest.param('{"email": ' + '{"a": ' * 20_000 + "1" + "}" * 20_001, id="20000-deep-object"),
    pytest.param('{"events": ' + "[" * 200 + "]" * 200 + "}", id="200-deep-events"),
]


def _assert_too_deep_refused(response: Any, before: tuple[int, int, int]) -> None:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "nested too deeply" in error["message"], error
    assert counts() == before, "a refusal wrote something"


@pytest.mark.parametrize("body", DEEP_JSON)
def test_deeply_nested_json_to_the_capture_endpoint_is_a_400(
    hostile_page: LandingPage, body: str
) -> None:
    before = counts()
    response = Client(raise_request_exception=False).generic(
        "POST", f"/api/v1/capture/{hostile_page.slug}/", body, content_type="application/json"
    )
    _assert_too_deep_refused(response, before)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize("body", DEEP_JSON)
def test_deeply_nested_json_to_the_beacon_is_a_400(body: str, content_type: str) -> None:
    before = counts()
    response = Client(raise_request_exception=False).generic(
        "POST", "/api/v1/track/", body, content_type=content_type
    )
    _assert_too_deep_refused(response, before)


@pytest.mark.parametrize("body", DEEP_JSON)
def test_deeply_nested_json_to_the_activities_endpoint_is_a_400(body: str) -> None:
    api = token_client(marketer())
    before = counts()
    response = api.generic("POST", "/api/v1/activities/", body, content_type="application/json")
    _assert_too_deep_refused(response, before)


def test_json_nested_as_deep_as_the_limit_is_still_read(hostile_page: LandingPage) -> None:
    """The limit refuses abuse, not payloads: a custom event's properties may nest a little."""
    lead = LeadFactory(email="ada@example.com")
    properties: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH - 1):  # with the event around them: the limit exactly
        properties = {"nested": properties}
    event = {"kind": "custom", "email": lead.email, "name": "deep", "properties": properties}
    response = post_json(token_client(marketer()), "/api/v1/activities/", event)
    assert response.status_code == 201, response.content[:300]
    stored = Activity.objects.get(lead=lead).metadata["properties"]
    assert stored == properties
