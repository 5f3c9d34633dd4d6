"""track.js in a real browser: page views arrive as activities, and nothing under DNT/GPC.

The "company site" is a small HTTP server of the test's own on another origin (127.0.0.1
against the live server's localhost), loading track.js from the live server as a customer's
site would.
"""

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from capture.models import Activity, AnonymousView, LandingPage, Lead
from capture.tracking import tracking_token
from scoring.models import ScoringRule
from tests.e2e.conftest import USER_AGENT, watch
from tests.factories import LandingPageFactory, LeadFactory
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class _CompanySite(BaseHTTPRequestHandler):
    """Two pages of a customer's site, with track.js as the README says to install it."""

    script = ""

    def do_GET(self) -> None:
        title = "Pricing" if self.path.endswith("/pricing") else "Home"
        body = (
            f"<!doctype html><html lang='en'><head><title>{title}</title>{self.script}</head>"
            f"<body><h1>{title}</h1><a href='/pricing'>Pricing</a></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def company_site(live_server: Any) -> Iterator[Callable[..., str]]:
    """Serve the company site on another origin (a real loopback server: Chromium refuses a
    public page's requests to loopback addresses); returns a function giving its base URL."""
    handler = type("Handler", (_CompanySite,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def configure(attrs: str = "") -> str:
        handler.script = (
            f'<script src="{live_server.url}/static/leadfunnel/track.js" '
            f'data-endpoint="{live_server.url}/api/v1/track/" {attrs} defer></script>'
        )
        return f"http://127.0.0.1:{server.server_port}"

    yield configure
    server.shutdown()
    server.server_close()


def _beacons(page: Page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: "/api/v1/track/" in request.url and sent.append(request.url))
    return sent


def _views(lead: Lead) -> Callable[[], list[str]]:
    def urls() -> list[str]:
        return list(
            Activity.objects.filter(lead=lead, kind="page_viewed")
            .order_by("occurred_at", "id")
            .values_list("metadata__url", flat=True)
        )

    return urls


def test_page_views_on_a_company_site_arrive_and_rescore_the_lead(
    company_site: Callable[..., str], page: Page
) -> None:
    lead = LeadFactory()
    ScoringRule.objects.create(
        name="Pricing",
        kind="engagement",
        activity_kind="page_viewed",
        pattern="/pricing",
        points=10,
    )
    base = company_site()
    page.goto(f"{base}/")
    # What the company's form script does with the capture endpoint's answer.
    page.evaluate("token => window.leadfunnel.identify(token)", tracking_token(lead.uid))
    cookie = next(c for c in page.context.cookies() if c["name"] == "lf_id")
    assert cookie["domain"] == "127.0.0.1", "a first-party cookie of the company's site"
    # Two years asked; Chromium keeps cookies 400 days at most (track.js renews it on each page).
    assert cookie["expires"] > time.time() + 399 * 86400
    assert cookie["sameSite"] == "Lax"
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    views = _views(lead)
    assert wait_until(lambda: len(views()) == 2, timeout=10), views()
    assert views() == [f"{base}/", f"{base}/pricing"]
    assert wait_until(lambda: Lead.objects.get(pk=lead.pk).score == 10, timeout=5)


@pytest.mark.parametrize(
    "privacy",
    [
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    ],
    ids=["global privacy control", "do not track"],
)
def test_under_gpc_or_dnt_nothing_is_sent(
    company_site: Callable[..., str], browser: Browser, privacy: str
) -> None:
    lead = LeadFactory()
    context = browser.new_context(user_agent=USER_AGENT)
    context.add_init_script(privacy)
    page = watch(context.new_page())
    sent = _beacons(page)
    base = company_site()
    page.goto(f"{base}/")
    page.evaluate("token => window.leadfunnel.identify(token)", tracking_token(lead.uid))
    assert not [c for c in context.cookies() if c["name"] in ("lf_id", "lf_vid")], "no id"
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    assert page.evaluate("typeof window.leadfunnel.page") == "function", "track.js did load"
    page.wait_for_timeout(2500)  # past track.js's batching delay
    context.close()
    assert sent == []
    assert not Activity.objects.filter(lead=lead).exists()
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_with_data_require_consent_nothing_is_sent_until_consent(
    company_site: Callable[..., str], page: Page
) -> None:
    lead = LeadFactory()
    sent = _beacons(page)
    base = company_site("data-require-consent")
    page.goto(f"{base}/")
    page.evaluate("token => window.leadfunnel.identify(token)", tracking_token(lead.uid))
    page.wait_for_timeout(2500)
    assert sent == []
    assert not [c for c in page.context.cookies() if c["name"] in ("lf_id", "lf_vid")], (
        "no id before consent"
    )
    page.evaluate("window.leadfunnel.consent(true)")
    views = _views(lead)
    assert wait_until(lambda: views() == [f"{base}/"], timeout=10), views()
    page.evaluate("window.leadfunnel.consent(false)")
    assert not [c for c in page.context.cookies() if c["name"] in ("lf_id", "lf_vid")], (
        "withdrawn: forgotten"
    )
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    page.wait_for_timeout(2500)
    assert views() == [f"{base}/"]


def test_what_a_visitor_read_before_the_form_joins_the_lead_with_the_real_snippet(
    live_server: Any, page: Page, settings: Any
) -> None:
    settings.CAPTURE_MIN_FILL_SECONDS = 0
    ScoringRule.objects.create(
        name="Pricing",
        kind="engagement",
        activity_kind="page_viewed",
        pattern="/l/pricing/",
        points=10,
    )
    pricing: LandingPage = LandingPageFactory(slug="pricing", title="Pricing")
    landing: LandingPage = LandingPageFactory(
        slug="consultation",
        fields_shown=[],
        fields_required=[],
        qualifying_question="",
        consent_text="",
    )
    sent = _beacons(page)
    page.goto(f"{live_server.url}/l/{pricing.slug}/?utm_source=google")
    page.goto(f"{live_server.url}/l/{landing.slug}/")
    # Anonymous views went out (leaving the pricing page) under the browser's random id.
    assert wait_until(lambda: AnonymousView.objects.count() >= 1, timeout=10), sent
    visitor = next(c for c in page.context.cookies() if c["name"] == "lf_vid")["value"]
    assert len(visitor) == 32 and set(visitor) <= set("0123456789abcdef")
    assert not [c for c in page.context.cookies() if c["name"] == "lf_id"], "not known yet"
    assert not Activity.objects.filter(kind="page_viewed").exists()
    page.wait_for_timeout(2500)  # past track.js's batching delay: the form page's view too
    assert wait_until(lambda: AnonymousView.objects.count() == 2, timeout=10)
    page.get_by_label("Work email").fill("grace@example.com")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get(email="grace@example.com")
    views = _views(lead)
    base = live_server.url
    assert views() == [f"{base}/l/pricing/?utm_source=google", f"{base}/l/consultation/"]
    assert not AnonymousView.objects.exists(), "joined, not copied"
    form_at = Activity.objects.get(lead=lead, kind="form_submitted").occurred_at
    assert all(a.occurred_at <= form_at for a in Activity.objects.filter(kind="page_viewed"))
    assert wait_until(lambda: Lead.objects.get(pk=lead.pk).score >= 10, timeout=10)
    # From now on the browser is known: a later visit is the lead's at once.
    page.goto(f"{base}/l/{pricing.slug}/?utm_source=again")
    page.goto(f"{base}/l/{landing.slug}/")
    assert wait_until(lambda: f"{base}/l/pricing/?utm_source=again" in views(), timeout=10)


def test_a_company_sites_anonymous_views_join_the_lead_once_it_is_identified(
    company_site: Callable[..., str], page: Page
) -> None:
    lead = LeadFactory()
    base = company_site()
    page.goto(f"{base}/")
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    assert wait_until(lambda: AnonymousView.objects.count() == 1, timeout=10)
    page.wait_for_timeout(2500)
    assert wait_until(lambda: AnonymousView.objects.count() == 2, timeout=10)
    # What the company's form script does with the capture endpoint's answer.
    page.evaluate("token => window.leadfunnel.identify(token)", tracking_token(lead.uid))
    page.goto(f"{base}/")
    views = _views(lead)
    assert wait_until(lambda: len(views()) == 3, timeout=10), views()
    assert views() == [f"{base}/", f"{base}/pricing", f"{base}/"]
    assert not AnonymousView.objects.exists()
