"""The report and the dry run in a real browser: Chart.js (vendored, under the app's CSP)
draws the funnel from the page's data, the dry run is filled in and read, and axe finds
nothing serious on either page."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Page, expect

from leadfunnel.groups import MARKETERS
from nurture.services import advancing, triggers
from nurture.services.dispatching import hand_out_due
from tests.e2e.conftest import (
    USER_AGENT,
    check_a11y,
    drop_expected,
    watch,
)
from tests.factories import LandingPageFactory, LeadFactory, UserFactory
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"


@pytest.fixture
def tab(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A browser tab failing the test on any console error or 4xx/5xx it was not told of (as
    the e2e suite's `page`, whose name the landing-page fixture takes here)."""
    context = request.getfixturevalue("browser").new_context(
        viewport={"width": 1280, "height": 900}, user_agent=USER_AGENT
    )
    context.set_default_timeout(10_000)
    page = watch(context.new_page())
    yield page
    context.close()
    assert page.console_errors == [], f"console errors: {page.console_errors}"


def _log_in(page: Page, base: str) -> None:
    UserFactory(username="mia", is_staff=True, group=MARKETERS)
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_the_report_draws_its_funnel_and_the_dry_run_reads_well(
    live_server: Any, tab: Page
) -> None:
    page = tab
    landing = LandingPageFactory()
    journey = playbook(page=landing)
    now = datetime.now(UTC)
    with time_machine.travel(now, tick=False):
        for n in range(3):
            lead = LeadFactory(email=f"p{n}@example.com", time_zone="America/New_York")
            triggers.on_capture(lead_id=lead.pk, landing_page_id=landing.pk)
        advancing.advance_all_due(now=now)
        hand_out_due(now=now)
        advancing.advance_all_due(now=now)
    _log_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/nurture/journey/{journey.pk}/report/")
    expect(page.locator("#journey-totals")).to_contain_text("3")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('journey-funnel-chart'))"
    )
    drawn = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('journey-funnel-chart'));"
        " return [c.data.labels[0], c.data.datasets[0].label, c.data.datasets[0].data[0]]; }"
    )
    assert drawn == ["Thanks, we got your request", "Entered", 3]
    row = page.get_by_role("row", name="Thanks, we got your request")
    expect(row).to_contain_text("Email")
    check_a11y(page, "journey report")

    page.get_by_role("link", name="Dry run").click()
    page.get_by_label("One lead, by email:").check()
    page.get_by_label("Email", exact=True).fill("p1@example.com")
    page.get_by_role("button", name="Dry-run").click()
    expect(page.locator("#dry-run-summary")).to_contain_text("1 lead, simulated from")
    expect(page.locator("#dry-run-leads")).to_contain_text("America/New_York")
    check_a11y(page, "dry run, one lead")

    page.get_by_label("Email", exact=True).fill("nobody@example.com")
    page.get_by_role("button", name="Dry-run").click()
    expect(page.get_by_role("alert")).to_contain_text("No lead that may be mailed")
    drop_expected(page, "/dry-run/")
    check_a11y(page, "dry run, refused")

    page.get_by_label("A sample of the most recent leads").check()
    page.get_by_label("Sample size").fill("2")
    page.get_by_role("button", name="Dry-run").click()
    expect(page.locator("#dry-run-summary")).to_contain_text("2 leads, simulated from")
    expect(page.locator("#dry-run-paths")).to_contain_text("Thanks, we got your request → Wait")
    check_a11y(page, "dry run, sample")
