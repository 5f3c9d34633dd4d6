from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from capture.models import Lead, Submission
from tests.factories import marketer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings: Any, monkeypatch: Any) -> None:
    from django.core.management import call_command

    settings.CAPTURE_MIN_FILL_SECONDS = 0
    monkeypatch.setenv("DEMO_PASSWORD", "e2e-demo-password")
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_a_prospect_fills_the_form_and_the_marketer_sees_the_lead(
    live_server: Any, page: Page, demo: None, screenshot_dir: Path
) -> None:
    page.goto(f"{live_server.url}/l/free-consultation/?utm_source=newsletter&utm_medium=email")
    expect(page.get_by_role("heading", level=1)).to_contain_text("visitors into customers")

    page.get_by_role("button", name="Book my free consultation").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    expect(page.locator("#id_email")).to_be_focused()
    # The re-rendered form is answered 400 on purpose (bad input gets a 4xx).
    page.console_errors[:] = [e for e in page.console_errors if "400" not in e]
    page.screenshot(path=screenshot_dir / "e2e-form-errors.png", full_page=True)

    page.get_by_label("Work email").fill("Joan.Clarke@Bletchley.example")
    page.get_by_label("First name").fill("Joan")
    page.locator("#id_company").fill("Bletchley Park")
    page.get_by_label("Job title").fill("Head of Cryptanalysis")
    page.get_by_label("Ready to start within a month").check()
    page.get_by_label("I agree to receive emails").check()
    page.get_by_role("button", name="Book my free consultation").click()

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    page.screenshot(path=screenshot_dir / "e2e-thanks.png")
    lead = Lead.objects.get(email="joan.clarke@bletchley.example")
    assert lead.time_zone, "the browser reported its time zone"
    submission = Submission.objects.get(lead=lead)
    assert (submission.utm_source, submission.utm_medium) == ("newsletter", "email")

    user = marketer()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/capture/lead/")
    expect(page.get_by_role("link", name="joan.clarke@bletchley.example")).to_be_visible()


def test_the_form_works_on_a_phone(live_server: Any, browser: Any, demo: None) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{live_server.url}/l/free-consultation/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling on a phone"
    phone.get_by_label("Work email").fill("mobile@example.com")
    phone.get_by_label("First name").fill("Mo")
    phone.locator("#id_company").fill("Handheld Inc")
    phone.get_by_label("Just researching").check()
    phone.get_by_label("I agree to receive emails").check()
    phone.get_by_role("button", name="Book my free consultation").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    assert Lead.objects.filter(email="mobile@example.com").exists()
    context.close()


def test_the_demo_pages_form_ends_above_the_fold_on_a_laptop(
    live_server: Any, page: Page, demo: None, screenshot_dir: Path
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/l/free-consultation/")
    button = page.get_by_role("button", name="Book my free consultation")
    box = button.bounding_box()
    page.screenshot(path=screenshot_dir / "e2e-demo-page-laptop.png")
    assert box is not None and box["y"] + box["height"] <= 900, box
    # Short: email, first name, company, job title, the question, consent and the demo's
    # two topic opt-ins; the rest is asked of a returning lead.
    names = page.eval_on_selector_all(
        "form input:not([type=hidden]):not([type=submit]):not([name=website]), form select",
        "els => [...new Set(els.map(e => e.name))]",
    )
    assert names == [
        "email",
        "first_name",
        "company",
        "job_title",
        "answer",
        "consent",
        "topic_newsletter",
        "topic_events",
    ], names
