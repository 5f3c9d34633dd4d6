"""Issue 16, booking: a prospect on a phone (390×844, en-US, America/New_York) books from
the thank-you page in their zone. The picker is framed (`?embed=1`) by a page of the site's
own origin standing in for the thank-you page; then, on the full page, the prospect changes
zone, reschedules (the current slot shown) and is asked "are you sure" before cancelling."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import Browser, FrameLocator, Page, Route, expect

from leadfunnel.groups import SALES_REPS
from nurture.tokens import booking_token
from sales.models import Booking, RepProfile
from tests.e2e.conftest import PHONE_AGENT, check_a11y, drop_expected, watch
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "shots_h4"
README_SHOTS = ROOT / "docs" / "screenshots"


def _rep() -> RepProfile:
    user = User.objects.create_user(
        "rita", email="rita@leadfunnel.example", first_name="Rita", last_name="Lopez"
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    # A rep in New York who takes calls around the clock, every day: what the prospect is
    # offered is then cut only by their own 07:00–21:00.
    hours = {str(day): [["00:00", "23:30"]] for day in range(7)}
    return RepProfile.objects.create(
        user=user,
        time_zone="America/New_York",
        weekly_hours=hours,
        slot_minutes=30,
        meeting_url="https://meet.example/rita",
    )


def _day_label(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}:"


def _open_day(scope: Page | FrameLocator, day: date) -> None:
    """Click `day` in the month view, paging to its month if needed."""
    link = scope.locator(f'a.lf-day-link[aria-label^="{_day_label(day)}"]')
    if link.count() == 0:
        scope.get_by_role("link", name="Next month").click()
    # The day already chosen (the first with times left: tomorrow, in New York's evening) is
    # open: clicking it would reload the same page, and the heading would match before that
    # navigation ended, so the times read next would be read mid-navigation.
    if link.get_attribute("aria-current") != "date":
        link.click()
    expect(scope.locator("#times-heading")).to_have_text(f"{day:%A}, {day:%B} {day.day}")


def _times(scope: Page | FrameLocator) -> list[str]:
    return scope.locator("a.lf-time").all_inner_texts()


def test_prospect_on_a_phone_books_from_the_thank_you_page_in_their_zone(
    live_server: Any, browser: Browser
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    _rep()
    lead = LeadFactory(
        first_name="Katherine",
        last_name="Johnson",
        company="Langley Research",
        email="katherine@langley.example",
        time_zone="",
    )
    url = f"{live_server.url}/book/{booking_token(lead_uid=str(lead.uid))}/"
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_AGENT,
        locale="en-US",
        timezone_id="America/New_York",
    )
    context.set_default_timeout(10_000)
    page = watch(context.new_page())
    tomorrow = (timezone.now().astimezone(NEW_YORK) + timedelta(days=1)).date()

    # The thank-you page (same origin) frames the compact picker.
    def thank_you(route: Route) -> None:
        route.fulfill(
            content_type="text/html",
            body=(
                "<!doctype html><html lang='en'><head><title>Thank you</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body>"
                "<main><h1>Thank you</h1><p>Pick a time now:</p>"
                f"<iframe title='Book a consultation' src='{url}?embed=1' "
                "style='width:100%;height:720px;border:0'></iframe></main></body></html>"
            ),
        )

    page.route(f"{live_server.url}/thanks-stand-in/", thank_you)
    page.goto(f"{live_server.url}/thanks-stand-in/")
    frame = page.frame_locator("iframe")
    # No zone on the lead: the browser's own is asked for, and named for people.
    expect(
        frame.get_by_role("heading", name="Pick a time for your free consultation")
    ).to_be_visible()
    expect(frame.get_by_text("Times are shown in Eastern Time (New York).")).to_be_visible()
    _open_day(frame, tomorrow)
    times = _times(frame)
    # 12-hour clock, and nothing before 07:00 or after 21:00 in New York.
    assert times[0] == "7:00 AM" and times[-1] == "8:30 PM", times
    assert len(times) == 28
    page.screenshot(path=SHOTS / "embed-picker.png", full_page=True)
    frame.get_by_role("link", name="9:30 AM").click()

    expect(frame.get_by_role("heading", name="Confirm your consultation")).to_be_visible()
    expected = f"{tomorrow:%A}, {tomorrow:%B} {tomorrow.day}, {tomorrow.year}, 9:30 AM – 10:00 AM"
    expect(frame.get_by_text(expected)).to_be_visible()
    expect(frame.locator("dl.lf-details")).to_contain_text("Katherine Johnson")
    expect(frame.locator("dl.lf-details")).to_contain_text("katherine@langley.example")
    expect(frame.locator("dl.lf-details")).to_contain_text("Langley Research")
    assert not Booking.objects.exists(), "nothing is booked before the confirm"
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You're booked!")).to_be_visible()
    expect(frame.get_by_text(expected)).to_be_visible()
    booking = Booking.objects.get(lead=lead, status="booked")
    assert booking.starts_at == datetime.combine(
        tomorrow, datetime.min.time().replace(hour=9, minute=30), tzinfo=NEW_YORK
    )
    lead.refresh_from_db()
    assert lead.time_zone == "America/New_York", "the zone the prospect booked in is kept"
    page.goto(f"{url}?embed=1&reschedule=1")
    expect(page.locator("a.lf-time").first).to_be_visible()
    check_a11y(page, "embedded picker")

    # The full page, later, on the same phone: the booking first, then a reschedule.
    page.goto(url)
    expect(page.get_by_role("heading", name="Your consultation")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scroll"
    check_a11y(page, "booked")
    page.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"You are moving your consultation on {expected}"
    )
    # Travelling: the prospect switches to Los Angeles; the times follow, still 07:00–21:00.
    page.get_by_label("Times in").select_option(label="Pacific Time (Los Angeles)")
    page.get_by_role("button", name="Change zone").click()
    expect(page.get_by_text("Times are shown in Pacific Time (Los Angeles).")).to_be_visible()
    later = tomorrow + timedelta(days=1)
    _open_day(page, later)
    times = _times(page)
    # The rep's last slot is 23:00 in New York, 8:00 PM in Los Angeles.
    assert times[0] == "7:00 AM" and times[-1] == "8:00 PM", times
    check_a11y(page, "picker")
    page.screenshot(path=README_SHOTS / "booking-picker.png", full_page=True)
    page.get_by_role("link", name="11:00 AM").click()

    expect(page.get_by_role("heading", name="Move your consultation?")).to_be_visible()
    # The current slot, now read in Los Angeles time (9:30 in New York).
    current = f"{tomorrow:%A}, {tomorrow:%B} {tomorrow.day}, {tomorrow.year}, 6:30 AM – 7:00 AM"
    expect(page.get_by_text(f"Currently: {current}")).to_be_visible()
    new_time = f"{later:%A}, {later:%B} {later.day}, {later.year}, 11:00 AM – 11:30 AM"
    expect(page.get_by_text(f"New time: {new_time}")).to_be_visible()
    check_a11y(page, "confirm")
    page.screenshot(path=README_SHOTS / "booking-confirm.png", full_page=True)
    page.get_by_role("button", name="Move my consultation").click()
    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible()
    moved = Booking.objects.get(lead=lead, status="booked")
    assert moved.starts_at == datetime.combine(
        later, datetime.min.time().replace(hour=11), tzinfo=LOS_ANGELES
    )
    assert moved.calendar_uid == booking.calendar_uid, "the same calendar event, moved"

    # Cancelling asks first; "No, keep it" keeps it.
    page.get_by_role("link", name="Cancel booking…").click()
    expect(page.get_by_role("heading", name="Cancel your consultation?")).to_be_visible()
    expect(page.get_by_text("Are you sure you want to cancel")).to_contain_text(new_time)
    check_a11y(page, "cancel confirmation")
    page.screenshot(path=SHOTS / "cancel-confirm.png", full_page=True)
    page.get_by_role("link", name="No, keep it").click()
    expect(page.get_by_role("heading", name="Your consultation")).to_be_visible()
    assert Booking.objects.get(pk=moved.pk).status == "booked"
    page.get_by_role("link", name="Cancel booking…").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("heading", name="Your booking is cancelled")).to_be_visible()
    assert Booking.objects.get(pk=moved.pk).status == "cancelled"
    context.close()
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def test_rep_sets_weekly_hours_with_the_range_picker_and_finds_the_feed(
    live_server: Any, page: Page
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    rep = _rep()
    rep.weekly_hours = {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}
    rep.save()
    rep.user.set_password("rep-password-h4")
    rep.user.save()
    page.goto(f"{live_server.url}/sales/availability/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("rep-password-h4")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My availability")).to_be_visible()
    monday = page.locator('fieldset[data-name="Monday"]')
    expect(monday.get_by_label("Monday, from")).to_have_count(2)
    expect(page.locator('fieldset[data-name="Tuesday"]')).to_contain_text("Day off")

    # Monday afternoon goes; Saturday morning comes, overlapping at first.
    monday.get_by_role("button", name="Remove Monday 13:00–17:00").click()
    saturday = page.locator('fieldset[data-name="Saturday"]')
    saturday.get_by_role("button", name="+ Add hours on Saturday").click()
    saturday.get_by_role("button", name="+ Add hours on Saturday").click()
    starts, ends = saturday.get_by_label("Saturday, from"), saturday.get_by_label("Saturday, until")
    starts.nth(0).fill("09:00")
    ends.nth(0).fill("11:00")
    starts.nth(1).fill("10:30")
    ends.nth(1).fill("12:00")
    check_a11y(page, "availability")
    page.screenshot(path=SHOTS / "availability.png", full_page=True)
    page.get_by_role("button", name="Save hours").click()
    expect(page.get_by_role("alert")).to_have_text("Saturday: 09:00–11:00 and 10:30–12:00 overlap.")
    rep.refresh_from_db()
    assert rep.weekly_hours == {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}, "unchanged"
    drop_expected(page, "/sales/availability/")

    saturday.get_by_label("Saturday, from").nth(1).fill("11:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.get_by_role("status")).to_have_text("Your availability is saved.")
    rep.refresh_from_db()
    assert rep.weekly_hours == {
        "0": [["09:00", "12:00"]],
        "5": [["09:00", "11:00"], ["11:00", "12:00"]],
    }

    # The private feed link, ready to paste into a calendar app.
    feed = page.get_by_label("Calendar link (iCalendar)").input_value()
    assert feed.startswith("http://localhost:8000/book/feed/") or "/book/feed/" in feed
    response = page.request.get(live_server.url + feed[feed.index("/book/feed/") :])
    assert response.status == 200 and b"BEGIN:VCALENDAR" in response.body()
