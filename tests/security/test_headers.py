"""Content-Security-Policy on every page, and framing allowed on the embed pages only."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from capture.models import LandingPage
from nurture import tokens
from tests.conftest import valid_form_data
from tests.factories import (
    FitRuleFactory,
    LandingPageFactory,
    LeadFactory,
    StepFactory,
    UserFactory,
    marketer,
    sales_rep,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(response: object) -> dict[str, str]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    return dict(directive.strip().split(" ", 1) for directive in header.split(";"))


@pytest.fixture
def page() -> LandingPage:
    return LandingPageFactory(embed_origins="https://www.example.com")


def _public_urls(page: LandingPage) -> list[str]:
    lead = LeadFactory()
    return [
        f"/l/{page.slug}/",
        f"/l/{page.slug}/thanks/",
        f"/u/{tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)}/",
        f"/u/{'x' * 20}/",
        f"/c/{tokens.confirm_token(lead_id=lead.pk, lead_uid=lead.uid)}/",
        f"/book/{tokens.booking_token(lead_uid=str(lead.uid))}/",
        "/accounts/login/",
        "/admin/login/",
        "/l/no-such-page/",
    ]


def test_it_sends_the_site_policy_and_deny_on_public_pages(
    client: Client, page: LandingPage
) -> None:
    for url in _public_urls(page):
        response = client.get(url)
        assert response.status_code in (200, 400, 404), url
        assert _policy(response) == SITE_POLICY, url
        assert response["X-Frame-Options"] == "DENY", url


@pytest.mark.parametrize("url", ["/sales/", "/sales/metrics/", "/sales/leads/{lead}/"])
def test_it_sends_the_site_policy_on_the_dashboard(client: Client, url: str) -> None:
    client.force_login(sales_rep())
    response = client.get(url.format(lead=LeadFactory().pk))
    assert response.status_code == 200
    assert _policy(response) == SITE_POLICY
    assert response["X-Frame-Options"] == "DENY"


def test_the_embed_pages_replace_frame_ancestors_only(client: Client, page: LandingPage) -> None:
    for url in (f"/l/{page.slug}/embed/", f"/l/{page.slug}/embed/thanks/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "X-Frame-Options" not in response
        expected = {**SITE_POLICY, "frame-ancestors": "'self' https://www.example.com"}
        # One header, the view's: the middleware neither overwrites nor adds a second.
        assert _policy(response) == expected
        assert response.headers["Content-Security-Policy"].count("frame-ancestors") == 1


def test_an_invalid_form_and_the_rate_limit_page_stay_framable(
    client: Client, page: LandingPage, settings: object
) -> None:
    response = client.post(f"/l/{page.slug}/embed/", valid_form_data(email="not-an-email"))
    assert response.status_code == 400
    assert _policy(response)["frame-ancestors"] == "'self' https://www.example.com"
    settings.CAPTURE_RATE_LIMIT = "1/m"  # type: ignore[attr-defined]
    client.post(f"/l/{page.slug}/embed/", {"email": "x"})
    limited = client.post(f"/l/{page.slug}/embed/", {"email": "x"})
    assert limited.status_code == 429
    assert _policy(limited)["frame-ancestors"] == "'self' https://www.example.com"


def test_an_origin_cannot_smuggle_directives_into_the_policy(client: Client) -> None:
    page = LandingPageFactory(
        embed_origins="https://ok.example.com https://x.example.com;script-src:* 'unsafe-inline'"
    )
    response = client.get(f"/l/{page.slug}/embed/")
    assert _policy(response)["frame-ancestors"] == "'self' https://ok.example.com"
    assert _policy(response)["script-src"] == "'self'"


def test_a_page_that_thanks_on_another_site_may_post_there(client: Client) -> None:
    page = LandingPageFactory(redirect_url="https://www.example.com/thank-you?x=1")
    response = client.get(f"/l/{page.slug}/")
    # Browsers check form-action on the redirect that follows the POST as well.
    assert _policy(response)["form-action"] == "'self' https://www.example.com"
    assert _policy(response)["frame-ancestors"] == "'none'"


def test_the_admin_pages_carry_the_policy_and_load_only_static_scripts(client: Client) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = LandingPageFactory()
    step = StepFactory()
    rule = FitRuleFactory()
    for url in (
        "/admin/",
        f"/admin/capture/landingpage/{page.pk}/change/",
        f"/admin/nurture/sequence/{step.sequence_id}/change/",
        f"/admin/nurture/step/{step.pk}/preview/",
        f"/admin/scoring/scoringrule/{rule.pk}/change/",
        "/admin/capture/lead/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _policy(response) == SITE_POLICY, url
        html = response.content.decode()
        assert _inline_scripts(html) == [], url
    rule_form = client.get(f"/admin/scoring/scoringrule/{rule.pk}/change/").content.decode()
    assert f"{settings.STATIC_URL}scoring/rule_form.js" in rule_form


def _inline_scripts(html: str) -> list[str]:
    """<script> elements with a body, and on* event-handler attributes."""
    scripts = [
        body
        for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)
        if body.strip()
    ]
    handlers = re.findall(r"<[^>]+\son[a-z]+\s*=", html, flags=re.I)
    # JSON data for scripts (json_script) is data, not code: CSP does not run it.
    json_blocks = re.findall(
        r'<script\b[^>]*type="application/json"[^>]*>(.*?)</script>', html, flags=re.S
    )
    return [s for s in scripts if s not in json_blocks] + handlers


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    templates = [
        path
        for folder in ("templates", "capture", "scoring", "nurture", "sales")
        for path in (ROOT / folder).rglob("*.html")
    ]
    assert templates
    offenders = {
        str(path.relative_to(ROOT)): _inline_scripts(path.read_text()) for path in templates
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_pages_for_marketers_carry_the_policy(client: Client) -> None:
    client.force_login(marketer())
    response = client.get("/admin/capture/landingpage/add/")
    assert response.status_code == 200
    assert _policy(response) == SITE_POLICY
