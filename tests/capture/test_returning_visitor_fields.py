"""A returning lead's cookie shortens the form for that lead only: anyone else who submits
from the same browser (a shared one) with another address is asked what the page asks."""

import re
from typing import Any

import pytest
from django.test import Client

from capture.models import LandingPage, Lead, Submission
from capture.tracking import COOKIE_NAME, tracking_token
from tests.capture.ingest.support import api_capture_data, error_fields, post_json
from tests.conftest import started_token, valid_form_data
from tests.factories import LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db
REQUIRED = "This field is required."


def _consultation() -> LandingPage:
    return LandingPageFactory(
        slug="free-consultation",
        kind=LandingPage.Kind.CONSULTATION,
        fields_shown=["first_name", "company"],
        fields_required=["first_name", "company"],
        fields_later=["job_title"],
        consent_text="",
    )


def _form_fields(html: str) -> list[str]:
    names = re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"', html)
    lead_fields = ("email", "first_name", "company", "job_title", "answer")
    return list(dict.fromkeys(name for name in names if name in lead_fields))


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'id="error_1_id_{name}"[^>]*>(.*?)</(?:span|p)>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def _only(email: str, **values: Any) -> dict[str, Any]:
    """What the returning lead's short form sends: its address and what it was asked."""
    return {"email": email, "started": started_token(), "website": "", **values}


def _returning_browser(client: Client, page: LandingPage) -> Lead:
    """Max submits the page; this browser then carries Max's signed lf_id cookie."""
    response = client.post(
        f"/l/{page.slug}/",
        valid_form_data(email="max@fieldstone.example", first_name="Max", company="Fieldstone"),
    )
    assert response.status_code == 302
    assert COOKIE_NAME in response.cookies
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert _form_fields(html) == ["email", "job_title"], "Max is not asked again"
    return Lead.objects.get(email="max@fieldstone.example")


def test_another_address_from_a_returning_browser_is_asked_the_pages_required_fields(
    client: Client,
) -> None:
    page = _consultation()
    _returning_browser(client, page)

    response = client.post(
        f"/l/{page.slug}/", _only("someone.else@otherco.example", job_title="Buyer")
    )

    assert response.status_code == 400
    html = response.content.decode()
    # The form shown again asks what a new visitor is asked, and keeps what was typed.
    assert _form_fields(html) == ["email", "first_name", "company", "job_title", "answer"]
    assert _field_error(html, "first_name") == REQUIRED
    assert _field_error(html, "company") == REQUIRED
    assert _field_error(html, "answer") == REQUIRED
    assert 'value="Buyer"' in html
    assert not Lead.objects.filter(email="someone.else@otherco.example").exists()
    assert Submission.objects.count() == 1, "only Max's"

    sent = client.post(
        f"/l/{page.slug}/",
        _only(
            "someone.else@otherco.example",
            first_name="Sam",
            company="Otherco",
            job_title="Buyer",
            answer="Within a month",
        ),
    )

    assert sent.status_code == 302
    other = Lead.objects.get(email="someone.else@otherco.example")
    assert (other.first_name, other.company, other.job_title) == ("Sam", "Otherco", "Buyer")


def test_the_cookies_own_lead_still_gets_the_short_form_whatever_its_spelling(
    client: Client,
) -> None:
    page = _consultation()
    max_lead = _returning_browser(client, page)

    response = client.post(
        f"/l/{page.slug}/", _only("  MAX@Fieldstone.Example ", job_title="Founder")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    max_lead.refresh_from_db()
    assert (max_lead.first_name, max_lead.company, max_lead.job_title) == (
        "Max",
        "Fieldstone",
        "Founder",
    )
    assert Lead.objects.count() == 1


def test_the_capture_api_ignores_the_cookie_and_asks_the_pages_fields(client: Client) -> None:
    page = _consultation()
    lead = LeadFactory(email="max@fieldstone.example", first_name="Max", company="Fieldstone")
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid)

    response = post_json(
        client,
        f"/api/v1/capture/{page.slug}/",
        api_capture_data(email="someone.else@otherco.example", first_name=..., company=...),
    )

    assert response.status_code == 400
    assert set(error_fields(response)) >= {"first_name", "company"}
    assert Lead.objects.count() == 1
