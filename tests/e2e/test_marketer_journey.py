"""Journey 2, the marketer: in the admin, a landing page and a three-step sequence with a
condition, a step preview, a test email to themself, publishing; then a prospect uses the
page and is enrolled.

Celery stays in eager mode here (nothing in this journey needs a worker; journeys 1 and 4
use one); email goes through SMTP to the sink.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from capture.models import LandingPage, Lead
from nurture.models import Delivery, Enrollment, Sequence, Step
from tests.e2e.conftest import DEMO_PASSWORD, check_a11y, wait_for_mail
from tests.processes import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)
STEPS = [
    (1, "Your webinar seat, {{ first_name }}", ""),
    (3, "The slides from the webinar", ""),
    (5, "Ready for the next step?", "clicked"),  # only if the previous email was clicked
]


def test_marketer_builds_and_publishes_a_page_and_sequence(
    live_server: Any, page: Page, demo: None, sink: SmtpSink, screenshot_dir: Path
) -> None:
    admin = live_server.url + "/admin"
    page.goto(f"{admin}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Landing pages")).to_be_visible()

    # A landing page, saved as a draft first.
    page.goto(f"{admin}/capture/landingpage/add/")
    page.locator("#id_title").press_sequentially("Spring webinar")
    expect(page.locator("#id_slug")).to_have_value("spring-webinar")  # filled in from the title
    page.locator("#id_headline").fill("Learn to score your leads in 45 minutes")
    page.locator("#id_body").fill("A live session with Q&A. Free, and recorded if you miss it.")
    page.locator("#id_cta_label").fill("Save my seat")
    page.locator("#id_ask_first_name").select_option("optional")
    page.locator("#id_qualifying_question").fill("")  # the new page's preset asks one
    page.locator("#id_qualifying_choices").fill("")
    page.locator("#id_consent_text").fill("I agree to receive emails about the webinar.")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    landing = LandingPage.objects.get(slug="spring-webinar")
    assert not landing.published

    # A three-step sequence on that page, paused until it is ready.
    page.goto(f"{admin}/nurture/sequence/add/")
    page.locator("#id_name").fill("Spring webinar follow-up")
    page.locator("#id_status").select_option("paused")
    page.locator("#id_entry_pages_from").select_option(label="Spring webinar")
    page.locator("#id_entry_pages_add").click()
    for box in page.locator("#id_weekdays input[type=checkbox]").all():
        box.check()
    for index, (day, subject, condition) in enumerate(STEPS):
        page.locator(".add-row a, .add-row button").first.click()
        prefix = f"#id_steps-{index}-"
        page.locator(prefix + "day").fill(str(day))
        page.locator(prefix + "subject").fill(subject)
        page.locator(prefix + "body").fill(f"Hi {{{{ first_name }}}},\n\nStep for day {day}.")
        page.locator(prefix + "click_condition").select_option(condition)
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    sequence = Sequence.objects.get(name="Spring webinar follow-up")
    assert list(sequence.steps.order_by("day").values_list("day", "click_condition")) == [
        (1, ""),
        (3, ""),
        (5, "clicked"),
    ]
    page.screenshot(path=screenshot_dir / "e2e-marketer-sequence.png", full_page=True)

    # Preview a step, and send a test of it to themself.
    step = Step.objects.get(sequence=sequence, day=1)
    page.get_by_role("link", name="Preview and send a test").first.click()
    expect(page).to_have_url(f"{admin}/nurture/step/{step.pk}/preview/")
    expect(page.get_by_text("Subject:")).to_be_visible()
    # The HTML part is in a sandboxed iframe (no scripts, so no test hooks either); the text
    # part is on the page. Both are of the fictional sample lead, never a real one.
    expect(page.get_by_text("a fictional sample lead")).to_be_visible()
    frame = page.frame_locator("iframe[title='Email preview']")
    expect(frame.locator("body")).to_contain_text("Hi Ada,")
    expect(frame.locator("body")).to_contain_text("Step for day 1.")
    expect(frame.get_by_role("link", name="Unsubscribe")).to_be_visible()
    box = page.locator("iframe[title='Email preview']").bounding_box()
    assert box is not None and box["height"] > 600, "the frame holds the email, not 150 px"
    expect(page.locator("pre")).to_contain_text("Hi Ada,")
    expect(page.locator("pre")).to_contain_text("Step for day 1.")
    page.screenshot(path=screenshot_dir / "e2e-marketer-preview.png", full_page=True)
    page.get_by_role("button", name="Send a test to me").click()
    expect(page.locator(".messagelist")).to_contain_text("Test sent to marketer@")
    test = wait_for_mail(sink, "marketer@leadfunnel.localhost", subject="[Test] Your webinar seat")
    assert "Step for day 1." in test.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    # Not published yet: the public page is not there for visitors (staff get a preview).
    assert httpx.get(f"{live_server.url}/l/spring-webinar/").status_code == 404

    # Publish: the page, then the sequence.
    page.goto(f"{admin}/capture/landingpage/{landing.pk}/change/")
    page.locator("#id_published").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    page.goto(f"{admin}/nurture/sequence/{sequence.pk}/change/")
    page.locator("#id_status").select_option("active")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # A new prospect uses the page and is enrolled.
    page.goto(f"{live_server.url}/l/spring-webinar/?utm_source=linkedin")
    expect(page.get_by_role("heading", level=1)).to_contain_text("score your leads")
    check_a11y(page, "new landing page")
    page.screenshot(path=screenshot_dir / "e2e-marketer-new-page.png", full_page=True)
    page.get_by_label("Work email").fill("ida.webinar@example.com")
    page.get_by_label("First name").fill("Ida")
    page.get_by_label("I agree to receive emails").check()
    page.get_by_role("button", name="Save my seat").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check_a11y(page, "new page's thank-you")
    lead = Lead.objects.get(email="ida.webinar@example.com")
    enrollment = Enrollment.objects.get(lead=lead, sequence=sequence)
    assert enrollment.deliveries.count() == 3
    wait_for_mail(sink, lead.email, subject="Your webinar seat, Ida")
    assert Delivery.objects.get(enrollment=enrollment, step__day=1).status == "sent"
