"""Journey 4, booking: from the Day-7 email the prospect books a slot in their own time zone,
gets the calendar invite, and the slot is no longer offered. A real worker sends the drip."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Browser, expect

from capture.models import Lead
from nurture.models import Delivery
from nurture.services.dispatching import hand_out_due
from sales.models import Booking
from tests.e2e.conftest import USER_AGENT, check_a11y, html_of, wait_for_mail, watch
from tests.processes import SmtpSink, Stack

pytestmark = pytest.mark.django_db(transaction=True)
ZONE = "America/New_York"


def test_prospect_books_a_consultation_from_the_day_seven_email(
    live_server: Any,
    browser: Browser,
    demo: None,
    sink: SmtpSink,
    worker: Stack,
    screenshot_dir: Path,
) -> None:
    # The prospect's own browser is in New York; the rep works 9–17 UTC.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        user_agent=USER_AGENT,
        timezone_id=ZONE,
        accept_downloads=True,
    )
    page = watch(context.new_page())
    page.goto(f"{live_server.url}/l/free-consultation/?utm_source=partner")
    email = "katherine.johnson@langley.example"
    page.get_by_label("Work email").fill(email)
    page.get_by_label("First name").fill("Katherine")
    page.locator("#id_company").fill("Langley Research")
    page.get_by_label("Just researching").check()
    page.get_by_label("I agree to receive emails").check()
    page.get_by_role("button", name="Book my free consultation").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get(email=email)
    assert lead.time_zone == ZONE
    wait_for_mail(sink, email, subject="We have your request", stack=worker)

    # A week on, the scheduler hands the rest of the sequence to the worker.
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=True):
        hand_out_due()
    message = wait_for_mail(sink, email, subject="shall we find 30 minutes", stack=worker)
    page.set_content(html_of(message))
    page.screenshot(path=screenshot_dir / "e2e-booking-email.png", full_page=True)
    page.get_by_role("link", name="Book my consultation").click()
    expect(page.get_by_role("heading", name="Book your free consultation")).to_be_visible()
    assert "/book/" in page.url
    expect(page.get_by_text("Times are shown in Eastern Time (New York)")).to_be_visible()
    check_a11y(page, "booking page")
    page.screenshot(path=screenshot_dir / "e2e-booking-slots.png", full_page=True)

    # Every offered time is written in the prospect's zone and clock (the month view opens on
    # the first day with times); choosing one asks to confirm first.
    first = page.locator("a.lf-time").first
    label = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name="Confirm your consultation")).to_be_visible()
    value = page.locator("input[name=slot]").get_attribute("value") or ""
    starts_at = datetime.fromisoformat(value).astimezone(ZoneInfo(ZONE))
    assert label == f"{starts_at.hour % 12 or 12}:{starts_at:%M} {starts_at:%p}"
    assert starts_at.hour >= 7, "nothing before 07:00 in New York"
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible()
    check_a11y(page, "booking confirmed")
    page.screenshot(path=screenshot_dir / "e2e-booking-booked.png", full_page=True)
    booking = Booking.objects.get(lead=lead, status=Booking.Status.BOOKED)
    assert booking.starts_at == starts_at
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.BOOKED
    # Day 7 was the last step, so the sequence is complete: nothing more is scheduled.
    assert not Delivery.objects.filter(enrollment__lead=lead, status="scheduled").exists()

    # The slot is gone from the picker (the demo has one rep).
    page.goto(page.url.split("?")[0] + "?reschedule=1")
    expect(page.locator("a.lf-time").first).to_be_visible()
    assert not any(
        value.replace("+", "%2B").replace(":", "%3A") in (href or "")
        for href in page.locator("a.lf-time").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
    )
    page.goto(page.url.split("?")[0])

    # The .ics: from the page, and attached to the confirmation email.
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    invite = icalendar.Calendar.from_ical(Path(download.value.path()).read_bytes())
    event = next(iter(invite.walk("VEVENT")))
    assert event.decoded("dtstart") == booking.starts_at
    confirmation = wait_for_mail(sink, email, subject="", timeout=20)
    attachments = [
        part
        for part in confirmation.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]
    assert attachments, f"an invite is attached to {confirmation['Subject']!r}"
    attached = icalendar.Calendar.from_ical(attachments[0].get_content())
    assert next(iter(attached.walk("VEVENT"))).decoded("dtstart") == booking.starts_at
    local = booking.starts_at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    assert local in confirmation.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    context.close()
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
