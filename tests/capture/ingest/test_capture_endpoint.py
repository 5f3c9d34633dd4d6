"""POST /api/v1/capture/<slug>/: the landing page's form for headless sites."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Activity, LandingPage, Lead, Submission
from capture.tracking import lead_for_tracking_token, lead_uid_for_tracking_token
from tests.capture.ingest.support import api_capture_data, counts, post_json
from tests.conftest import valid_form_data
from tests.factories import FitRuleFactory, LandingPageFactory, marketer

pytestmark = pytest.mark.django_db


def _url(page: LandingPage) -> str:
    return f"/api/v1/capture/{page.slug}/"


def test_it_captures_a_lead_and_answers_with_a_tracking_token(
    client: Client, page: LandingPage, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory()  # job title contains "director": +15
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, _url(page), api_capture_data(email=" Ada@Example.COM "))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "received"
    assert set(body) == {"status", "tracking_token"}
    lead = Lead.objects.get()
    assert lead.email == "ada@example.com"
    assert lead.job_title == "Director of Engineering"
    assert lead.consent_given_at is not None
    assert lead.consent_text == page.consent_text
    assert lead.answers == {page.qualifying_question: "Within a month"}
    assert lead.time_zone == "Europe/London"
    assert lead.score == 15, "rescored on capture, as after the HTML form"
    submission = Submission.objects.get()
    assert (submission.utm_source, submission.utm_campaign) == ("partner-site", "spring")
    assert Activity.objects.get().kind == Activity.Kind.FORM_SUBMITTED
    assert lead_for_tracking_token(body["tracking_token"]) == lead


def test_the_same_email_twice_is_one_lead_with_two_submissions_and_a_token_only_once(
    client: Client, page: LandingPage
) -> None:
    first = post_json(client, _url(page), api_capture_data())
    second = post_json(client, _url(page), api_capture_data(email="ADA@example.com"))
    assert first.status_code == second.status_code == 201
    assert set(first.json()) == set(second.json())
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 2
    lead = Lead.objects.get()
    assert lead_for_tracking_token(first.json()["tracking_token"]) == lead
    # Anyone can send a known address: its lead's token is not theirs to have.
    assert second.json()["tracking_token"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": ...}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "someone@mailinator.com"}, "email"),
        ({"email": "ada@example.com\x00"}, "email"),
        ({"first_name": ...}, "first_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"phone": "call me maybe"}, "phone"),
        ({"company_size": "huge"}, "company_size"),
        ({"country": "XX"}, "country"),
        ({"answer": "Next decade"}, "answer"),
        ({"consent": ...}, "consent"),
        ({"consent": False}, "consent"),
        ({"consent": "maybe"}, "consent"),
        ({"email": None}, "email"),
        ({"first_name": ["Ada", "Eve"]}, "first_name"),
        ({"company": {"name": "Engines"}}, "company"),
        ({"first_name": "Ada\ud800"}, "first_name"),
    ],
    ids=[
        "no email",
        "bad email",
        "disposable email",
        "nul in email",
        "missing required field",
        "too long",
        "bad phone",
        "bad choice",
        "bad country",
        "answer not offered",
        "no consent",
        "consent refused",
        "consent not a boolean",
        "null",
        "list",
        "object",
        "lone surrogate",
    ],
)
def test_each_invalid_field_is_named_in_a_400_and_nothing_is_stored(
    client: Client, page: LandingPage, overrides: dict[str, Any], field: str
) -> None:
    response = post_json(client, _url(page), api_capture_data(**overrides))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert field in error["message"]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('["ada@example.com"]', "application/json"),
        ('"ada@example.com"', "application/json"),
        ('{"email": NaN}', "application/json"),
        ("email=ada%40example.com", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed", "a list", "a string", "NaN", "a form body"],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    client: Client, page: LandingPage, body: str, content_type: str
) -> None:
    response = client.generic("POST", _url(page), body, content_type=content_type)
    assert response.status_code in (400, 415)
    assert "error" in response.json()
    assert counts() == (0, 0, 0)


def test_an_unknown_or_unpublished_page_is_404(client: Client) -> None:
    hidden = LandingPageFactory(published=False)
    for url in ("/api/v1/capture/no-such-page/", _url(hidden)):
        response = post_json(client, url, api_capture_data())
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert counts() == (0, 0, 0)


def test_an_unpublished_page_stays_hidden_from_a_logged_in_marketer(client: Client) -> None:
    """The endpoint uses no session: a marketer's preview rights do not apply here."""
    hidden = LandingPageFactory(published=False)
    client.force_login(marketer())
    assert post_json(client, _url(hidden), api_capture_data()).status_code == 404


def test_a_filled_honeypot_is_answered_like_a_success_and_stores_nothing(
    client: Client, page: LandingPage
) -> None:
    response = post_json(client, _url(page), api_capture_data(website="http://spam.example"))
    assert response.status_code == 201
    assert response.json()["status"] == "received"
    token = response.json()["tracking_token"]
    assert lead_uid_for_tracking_token(token) is not None, "looks like any other token"
    assert lead_for_tracking_token(token) is None
    assert counts() == (0, 0, 0)


def test_the_ip_rate_limit_answers_429_json_and_is_shared_with_the_html_form(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_RATE_LIMIT = "2/m"
    client.post(reverse("capture:landing_page", kwargs={"slug": page.slug}), valid_form_data())
    assert post_json(client, _url(page), api_capture_data(email="b@example.com")).status_code == 201
    response = post_json(client, _url(page), api_capture_data(email="c@example.com"))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert response["Retry-After"] == "60"
    assert not Lead.objects.filter(email="c@example.com").exists()


def test_the_rate_limit_fails_open_when_the_cache_is_down(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_RATE_LIMIT = "1/m"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    for email in ("a@example.com", "b@example.com"):
        assert post_json(client, _url(page), api_capture_data(email=email)).status_code == 201
    assert Lead.objects.count() == 2


def test_a_retry_with_the_same_idempotency_key_creates_one_submission(
    client: Client, page: LandingPage
) -> None:
    headers = {"headers": {"Idempotency-Key": "form-7f3a"}}
    first = post_json(client, _url(page), api_capture_data(), **headers)
    retry = post_json(client, _url(page), api_capture_data(), **headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Submission.objects.count() == 1
    other = post_json(client, _url(page), api_capture_data(email="eve@example.com"), **headers)
    assert other.status_code == 422
    assert Lead.objects.count() == 1


def test_a_refused_attempt_leaves_its_idempotency_key_free_for_the_corrected_one(
    client: Client, page: LandingPage
) -> None:
    headers = {"headers": {"Idempotency-Key": "form-1"}}
    bad = post_json(client, _url(page), api_capture_data(email="nope"), **headers)
    assert bad.status_code == 400
    assert post_json(client, _url(page), api_capture_data(), **headers).status_code == 201


def test_no_csrf_token_or_session_is_needed_even_with_a_login_cookie(page: LandingPage) -> None:
    """Cross-site callers have no CSRF token; the endpoint ignores sessions, so none applies."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer())
    assert post_json(client, _url(page), api_capture_data()).status_code == 201


def test_a_body_over_the_size_limit_is_a_json_413(client: Client, page: LandingPage) -> None:
    response = post_json(client, _url(page), api_capture_data(company="x" * 3_000_000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert counts() == (0, 0, 0)
