"""After the HTML form, the thank-you redirect identifies the browser with the lf_id cookie."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from capture.models import LandingPage, Lead
from capture.tracking import COOKIE_NAME, lead_for_tracking_token
from tests.conftest import valid_form_data

pytestmark = pytest.mark.django_db
TRACK_JS = Path(settings.BASE_DIR) / "static" / "leadfunnel" / "track.js"


def test_a_submission_sets_a_first_party_cookie_track_js_can_read(
    client: Client, page: LandingPage
) -> None:
    response = client.post(reverse("capture:landing_page", args=[page.slug]), valid_form_data())
    assert response.status_code == 302
    cookie = response.cookies[COOKIE_NAME]
    assert lead_for_tracking_token(cookie.value) == Lead.objects.get()
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 730 * 24 * 3600
    assert not cookie["httponly"], "track.js reads it"
    assert not cookie["secure"], "plain HTTP in this test"


def test_over_https_the_cookie_is_secure(client: Client, page: LandingPage) -> None:
    url = reverse("capture:landing_page", args=[page.slug])
    response = client.post(url, valid_form_data(), secure=True)
    assert response.cookies[COOKIE_NAME]["secure"]


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("capture:landing_page", {"website": "spam"}),
        ("capture:landing_page", {"email": "x"}),
        ("capture:embed", {}),
    ],
    ids=["honeypot", "invalid", "embed (third-party there)"],
)
def test_no_cookie_without_a_lead_or_inside_an_embed(
    client: Client, page: LandingPage, name: str, overrides: dict[str, Any]
) -> None:
    response = client.post(reverse(name, args=[page.slug]), valid_form_data(**overrides))
    assert COOKIE_NAME not in response.cookies


def test_landing_pages_load_track_js_pointed_at_the_collector(
    client: Client, page: LandingPage
) -> None:
    html = client.get(reverse("capture:landing_page", args=[page.slug])).content.decode()
    assert 'src="/static/leadfunnel/track.js" data-endpoint="/api/v1/track/" defer' in html


def test_track_js_stays_under_3_kb() -> None:
    assert TRACK_JS.stat().st_size < 3072
