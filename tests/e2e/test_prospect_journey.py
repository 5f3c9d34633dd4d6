"""Journey 1, the prospect: landing page → form errors → thank-you → Day-1 email → click →
one-click unsubscribe → no later step. A real Celery worker sends the email to an SMTP sink."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from capture.models import Activity, Lead, Submission
from nurture.models import Delivery, Step, Suppression
from nurture.services.dispatching import hand_out_due
from tests.e2e.conftest import PHONE_AGENT, check_a11y, drop_expected, html_of, wait_for_mail, watch
from tests.processes import SmtpSink, Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
CTA = "Book my free consultation"


def fill_form(page: Page, *, email: str, first_name: str, company: str) -> None:
    page.get_by_label("Work email").fill(email)
    page.get_by_label("First name").fill(first_name)
    page.locator("#id_company").fill(company)
    page.get_by_label("Job title").fill("Marketing Manager")
    page.get_by_label("Just researching").check()
    page.get_by_label("I agree to receive emails").check()


def submit_invalid_then_valid(page: Page, url: str, *, email: str, shot: Path) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("visitors into customers")
    check_a11y(page, "landing page")
    page.get_by_label("Work email").fill("not-an-email")
    page.get_by_role("button", name=CTA).click()
    expect(page.get_by_role("alert").first).to_contain_text("Please correct")
    # The message sits by its field, and the keyboard is on the first field in error.
    expect(page.locator("#id_email")).to_be_focused()
    expect(page.locator("#id_email")).to_have_attribute("aria-invalid", "true")
    described = page.locator("#id_email").get_attribute("aria-describedby") or ""
    messages = " ".join(page.locator(f"#{i}").inner_text() for i in described.split() if i)
    assert "email" in messages.lower(), f"the email field explains its error: {messages!r}"
    check_a11y(page, "landing page with errors")
    drop_expected(page, "400 ")
    page.screenshot(path=shot.with_name(shot.stem + "-errors.png"), full_page=True)

    fill_form(page, email=email, first_name="Grace", company="Hopper Systems")
    page.get_by_role("button", name=CTA).click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check_a11y(page, "thank-you page")
    page.screenshot(path=shot, full_page=True)


def test_prospect_signs_up_reads_clicks_and_unsubscribes(
    live_server: Any,
    browser: Browser,
    page: Page,
    demo: None,
    sink: SmtpSink,
    worker: Stack,
    screenshot_dir: Path,
) -> None:
    # The Day-1 email gets a call to action, so it has a tracked link besides unsubscribe.
    target = f"{live_server.url}/l/free-consultation/?from=email"
    Step.objects.filter(day=1).update(cta_label="See what we will cover", cta_url=target)
    url = f"{live_server.url}/l/free-consultation/?utm_source=newsletter&utm_medium=email"

    # A phone first: no sideways scrolling, the same errors and focus.
    phone_context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_AGENT,
    )
    phone = watch(phone_context.new_page())
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    submit_invalid_then_valid(
        phone,
        url,
        email="grace.phone@hopper.example",
        shot=screenshot_dir / "e2e-prospect-phone.png",
    )
    phone_context.close()
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    # Then a desktop.
    email = "grace.hopper@hopper.example"
    submit_invalid_then_valid(
        page, url, email=email, shot=screenshot_dir / "e2e-prospect-thanks.png"
    )
    lead = Lead.objects.get(email=email)
    submission = Submission.objects.get(lead=lead)
    assert (submission.utm_source, submission.utm_medium) == ("newsletter", "email")

    # The embed variant of the same page is accessible too.
    page.goto(f"{live_server.url}/l/free-consultation/embed/")
    expect(page.get_by_role("button", name=CTA)).to_be_visible()
    check_a11y(page, "embedded form")

    # The Day-1 email, sent by the worker process through SMTP.
    message = wait_for_mail(sink, email, subject="We have your request", stack=worker)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(preferencelist=("plain",)) is not None, "a text part too"
    html = html_of(message)
    page.set_content(html)
    page.screenshot(path=screenshot_dir / "e2e-prospect-email.png", full_page=True)
    tracked = page.get_by_role("link", name="See what we will cover")
    assert "/t/c/" in (tracked.get_attribute("href") or "")
    tracked.click()
    expect(page).to_have_url(target)
    assert Activity.objects.filter(lead=lead, kind=Activity.Kind.EMAIL_CLICKED).exists()
    assert Delivery.objects.get(enrollment__lead=lead, step__day=1).clicked_at is not None

    # Unsubscribe: a GET shows the preference page (mail scanners follow links), a click does it.
    page.set_content(html)
    page.get_by_role("link", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="Email preferences")).to_be_visible()
    assert not Suppression.objects.filter(email=email).exists(), "a GET changes nothing"
    check_a11y(page, "unsubscribe page")
    page.screenshot(path=screenshot_dir / "e2e-prospect-unsubscribe.png")
    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page.get_by_text("unsubscribed", exact=False).first).to_be_visible()
    check_a11y(page, "unsubscribed page")
    page.screenshot(path=screenshot_dir / "e2e-prospect-unsubscribed.png")
    assert Suppression.objects.filter(email=email).exists()

    # A week later the scheduler runs: nothing more reaches this prospect.
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=True):
        hand_out_due()
    in_flight = Delivery.objects.filter(enrollment__lead=lead, status__in=["queued", "sending"])
    assert wait_until(lambda: not in_flight.exists(), timeout=30)
    assert sink.count_for(email) == 1, "only the Day-1 email was ever sent"
    later = Delivery.objects.filter(enrollment__lead=lead, step__day__gt=1)
    assert later.count() == 4
    assert not later.filter(status=Delivery.Status.SENT).exists()
