"""Journey 3, the sales rep: a lead turns hot on the open dashboard (htmx polling, no reload)
after its prospect clicks and books; the rep opens its timeline, claims it, logs a call and
wins it; the metrics page's funnel chart counts the win.

Celery stays in eager mode here: the worker is proven by journeys 1 and 4, and this journey
is about what the rep sees. Emails still go through SMTP to the sink.
"""

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from capture.models import LandingPage, Lead
from capture.services import Tracking, capture_submission
from nurture.models import Step
from sales.models import Note, RepProfile
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    USER_AGENT,
    check_a11y,
    html_of,
    wait_for_mail,
    watch,
)
from tests.processes import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)


def test_rep_sees_a_lead_turn_hot_live_and_wins_it(
    live_server: Any,
    browser: Browser,
    demo: None,
    sink: SmtpSink,
    monkeypatch: Any,
    screenshot_dir: Path,
) -> None:
    # The dashboard polls every 10 s in production; 1 s keeps the test short.
    monkeypatch.setattr(importlib.import_module("sales.views.dashboard"), "POLL_SECONDS", 1)
    # Nobody is auto-assigned, so the rep claims the lead.
    RepProfile.objects.update(takes_leads=False)
    Step.objects.filter(day=1).update(cta_label="Pick a time", cta_url="{{ booking_url }}")
    email = "ada.byron@analytical.example"
    capture_submission(
        page=LandingPage.objects.get(slug="free-consultation"),
        data={
            "email": email,
            "first_name": "Ada",
            "last_name": "Byron",
            "company": "Analytical Engines",
            "job_title": "Director of Engineering",
            "company_size": "250-999",
            "time_zone": "Europe/London",
        },
        tracking=Tracking(utm={"utm_source": "google", "utm_campaign": "spring-consult"}),
        answer="Ready to start within a month",
        consent_given=True,
    )
    lead = Lead.objects.get(email=email)
    assert lead.temperature != Lead.Temperature.HOT, "a good fit, but not engaged yet"

    rep_context = browser.new_context(
        viewport={"width": 1280, "height": 900}, user_agent=USER_AGENT
    )
    rep = watch(rep_context.new_page())
    rep.goto(f"{live_server.url}/sales/")
    expect(rep).to_have_url(f"{live_server.url}/accounts/login/?next=/sales/")
    rep.get_by_label("Username").fill("sales")
    rep.get_by_label("Password").fill(DEMO_PASSWORD)
    rep.get_by_role("button", name="Sign in").click()
    expect(rep.get_by_role("heading", level=1)).to_be_visible()
    check_a11y(rep, "sales dashboard")
    rep.evaluate("window.notReloaded = true")

    # The prospect clicks the Day-1 email's link and books a consultation.
    prospect_context = browser.new_context(user_agent=USER_AGENT, timezone_id="Europe/London")
    prospect = watch(prospect_context.new_page())
    prospect.set_content(html_of(wait_for_mail(sink, email, subject="We have your request")))
    prospect.get_by_role("link", name="Pick a time").click()
    expect(prospect.get_by_role("heading", name="Book your free consultation")).to_be_visible()
    # The calendar opens on the first day with free times: take its first, then confirm.
    prospect.locator("a.lf-time").first.click()
    expect(prospect.get_by_role("heading", name="Confirm your consultation")).to_be_visible()
    prospect.get_by_role("button", name="Confirm booking").click()
    expect(prospect.get_by_role("heading", name="You're booked!")).to_be_visible()
    lead.refresh_from_db()
    assert lead.temperature == Lead.Temperature.HOT

    # The open dashboard shows it without a reload.
    alert = rep.locator("#live .lf-new-hot", has_text="Ada Byron")
    expect(alert).to_be_visible(timeout=15_000)
    assert rep.evaluate("window.notReloaded === true"), "the page was not reloaded"
    check_a11y(rep, "dashboard with a new hot lead")
    rep.screenshot(path=screenshot_dir / "e2e-sales-live.png")

    alert.get_by_role("link").click()
    expect(rep).to_have_url(f"{live_server.url}/sales/leads/{lead.pk}/")
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Ada")
    check_a11y(rep, "lead page")
    rep.get_by_role("button", name="Claim: assign to me").click()
    expect(rep.get_by_text("The lead is yours.")).to_be_visible()
    rep.get_by_label("Note or call summary").fill("Called Ada: wants to start next month.")
    rep.get_by_label("Call outcome").select_option("connected")
    rep.get_by_role("button", name="Log a call").click()
    expect(rep.get_by_text("Called Ada: wants to start next month.").first).to_be_visible()
    expect(rep.get_by_text("Call: Connected").first).to_be_visible()
    rep.get_by_label("Stage").select_option("won")
    rep.get_by_role("button", name="Move stage").click()
    expect(rep.get_by_text("Moved to won.")).to_be_visible()
    expect(rep.get_by_label("Stage")).to_have_value("won")  # shows the current stage
    check_a11y(rep, "lead page after the win")
    rep.screenshot(path=screenshot_dir / "e2e-sales-lead.png", full_page=True)
    lead.refresh_from_db()
    assert lead.owner == User.objects.get(username="sales")
    assert lead.stage == Lead.Stage.WON
    assert Note.objects.filter(lead=lead, kind=Note.Kind.CALL).exists()

    rep.get_by_role("link", name="Metrics").click()
    expect(rep.get_by_role("heading", name="Funnel metrics")).to_be_visible()
    chart = json.loads(rep.locator("#metrics-data").text_content() or "{}")["funnel"]
    won = dict(zip(chart["labels"], chart["data"], strict=True))["Won"]
    assert won == Lead.objects.filter(stage=Lead.Stage.WON).count() == 1
    assert "Won 1" in (rep.locator("#funnel-chart").get_attribute("aria-label") or "")
    check_a11y(rep, "metrics page")
    rep.screenshot(path=screenshot_dir / "e2e-sales-metrics.png", full_page=True)

    for page in (rep, prospect):
        assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
    rep_context.close()
    prospect_context.close()
