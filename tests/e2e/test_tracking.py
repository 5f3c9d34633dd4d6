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

from capture.models import Activity, LandingPage, Lead
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
    assert not [c for c in context.cookies() if c["name"] == "lf_id"], "not even an id"
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
    assert not [c for c in page.context.cookies() if c["name"] == "lf_id"], "no id before consent"
    page.evaluate("window.leadfunnel.consent(true)")
    views = _views(lead)
    assert wait_until(lambda: views() == [f"{base}/"], timeout=10), views()
    page.evaluate("window.leadfunnel.consent(false)")
    assert not [c for c in page.context.cookies() if c["name"] == "lf_id"], "withdrawn: forgotten"
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    page.wait_for_timeout(2500)
    assert views() == [f"{base}/"]


def test_after_a_form_on_leadfunnel_its_landing_pages_report_the_prospects_visits(
    live_server: Any, page: Page, settings: Any
) -> None:
    settings.CAPTURE_MIN_FILL_SECONDS = 0
    landing: LandingPage = LandingPageFactory(fields_shown=[], fields_required=[],
                                              qualifying_question="", consent_text="")  # fmt: skip
    sent = _beacons(page)
    page.goto(f"{live_server.url}/l/{landing.slug}/")
    page.wait_for_timeout(2500)
    assert sent == [], "an anonymous visitor is not tracked"
    page.get_by_label("Work email").fill("grace@example.com")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get(email="grace@example.com")
    page.goto(f"{live_server.url}/l/{landing.slug}/?utm_source=again")
    views = _views(lead)
    # The view of the form's own page, still queued when the prospect submitted, goes out
    # when that page is left: by then the thank-you redirect has identified the browser.
    url = f"{live_server.url}/l/{landing.slug}/"
    assert wait_until(lambda: views() == [url, f"{url}?utm_source=again"], timeout=10), views()
