"""The booking picker (issue 16): month → day → times in the prospect's zone and clock, a
confirm step, "are you sure" before cancelling, a reschedule that shows the current slot,
and the `?embed=1` layout the thank-you page frames."""

import html
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, TestCase

from capture.models import Lead
from leadfunnel.groups import SALES_REPS
from nurture.tokens import booking_token
from sales.models import Booking, RepProfile
from sales.services.booking import local_hours
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin, 02:00 in New York
US = {"accept-language": "en-US,en;q=0.9"}
GERMAN = {"accept-language": "de-DE,de;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rep() -> RepProfile:
    user = User.objects.create_user(
        "rita", email="rita@leadfunnel.example", first_name="Rita", last_name="Lopez"
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    # Berlin 09:00–17:00 is 03:00–11:00 in New York.
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    return RepProfile.objects.create(
        user=user,
        time_zone="Europe/Berlin",
        weekly_hours=hours,
        slot_minutes=30,
        location="Phone: Rita calls you",
    )


def _link(lead: Lead) -> str:
    return f"/book/{booking_token(lead_uid=str(lead.uid))}/"


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _times(page: str) -> list[str]:
    return re.findall(r'class="btn btn-outline-primary w-100 lf-time" href="[^"]+">([^<]+)<', page)


def _slot_links(page: str) -> list[str]:
    return re.findall(r'class="btn btn-outline-primary w-100 lf-time" href="([^"]+)"', page)


def test_it_shows_a_month_of_days_and_the_first_days_times_in_12_hour_new_york_time(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    page = _page(client.get(_link(lead), headers=US))

    assert "Times are shown in <strong>Eastern Time (New York)</strong>." in page
    assert '<h2 class="h6 mb-0" id="month-heading">March 2026</h2>' in page
    # The US calendar starts on Sunday; days with times are links named with their count.
    assert re.search(r"<th scope=\"col\"><abbr title=\"Sunday\">Sun</abbr></th>", page)
    assert 'aria-label="Monday, March 2: 8 times free" aria-current="date"' in page
    assert 'aria-label="Tuesday, March 3: 8 times free"' in page
    assert 'aria-label="Saturday, March 7' not in page, "weekends are off"
    assert '<h2 class="h6" id="times-heading">Monday, March 2</h2>' in page
    # 07:00–11:00 New York: the rep's hours, cut to the prospect's 07:00–21:00.
    assert _times(page) == [
        "7:00 AM",
        "7:30 AM",
        "8:00 AM",
        "8:30 AM",
        "9:00 AM",
        "9:30 AM",
        "10:00 AM",
        "10:30 AM",
    ]
    # Four weeks ahead: the last Monday of March, and nothing in April to page to.
    assert 'aria-label="Monday, March 30: 8 times free"' in page
    assert 'aria-label="Tuesday, March 31' not in page and "Next month" not in page
    assert "Previous month" not in page


def test_a_german_browser_reads_24_hour_times_and_a_monday_first_week(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(time_zone="Europe/Berlin")
    page = _page(client.get(_link(lead) + "?day=2026-03-03", headers=GERMAN))
    assert "Times are shown in <strong>Central European Time (Berlin)</strong>." in page
    assert page.index('title="Monday"') < page.index('title="Sunday"')
    assert '<h2 class="h6" id="times-heading">Tuesday 3 March</h2>' in page
    assert _times(page)[:2] == ["09:00", "09:30"] and _times(page)[-1] == "16:30"


def test_the_local_hours_are_a_setting(client: Client, rep: RepProfile, settings: Any) -> None:
    settings.BOOKING_LOCAL_HOURS = "09:00-10:00"
    lead = LeadFactory(time_zone="America/New_York")
    assert _times(_page(client.get(_link(lead), headers=US))) == ["9:00 AM", "9:30 AM"]


def test_a_changed_zone_is_kept_for_the_next_pages(client: Client, rep: RepProfile) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    page = _page(client.get(_link(lead) + "?tz=Europe/London", headers=US))
    assert "Times are shown in <strong>UK Time (London)</strong>." in page
    assert '<option value="Europe/London" selected>UK Time (London)</option>' in page
    # Two hours from 07:00 UTC: 09:00 in London, within its 07:00–21:00.
    assert _times(page)[0] == "9:00 AM"
    again = _page(client.get(_link(lead), headers=US))
    assert "Times are shown in <strong>UK Time (London)</strong>." in again, (
        "the choice is remembered"
    )
    odd = _page(client.get(_link(lead) + "?tz=Mars/Olympus", headers=US))
    assert "Times are shown in <strong>UK Time (London)</strong>." in odd, (
        "an unknown zone changes nothing"
    )


def test_a_zone_outside_the_list_is_named_after_its_city(client: Client, rep: RepProfile) -> None:
    lead = LeadFactory(time_zone="America/Argentina/Cordoba")
    page = _page(client.get(_link(lead), headers=US))
    assert "Times are shown in <strong>Cordoba time</strong>." in page
    assert '<option value="America/Argentina/Cordoba" selected>Cordoba time</option>' in page


def test_choosing_a_time_asks_to_confirm_with_the_prospects_details(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(
        time_zone="America/New_York",
        first_name="Kat",
        last_name="Johnson",
        email="kat@langley.example",
        company="Langley",
    )
    first = _slot_links(_page(client.get(_link(lead), headers=US)))[0]

    response = client.get(first, headers=US)

    assert response.status_code == 200
    page = _page(response)
    assert '<h1 class="h3 mb-3">Confirm your consultation</h1>' in page
    assert "<strong>Monday, March 2, 2026, 7:00 AM – 7:30 AM</strong>" in page
    assert "Eastern Time (New York) · 30 minutes" in page
    assert "<dt>Name</dt><dd>Kat Johnson</dd><dt>Email</dt><dd>kat@langley.example</dd>" in page
    assert "<dt>Company</dt><dd>Langley</dd>" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="slot" value="2026-03-02T12:00:00+00:00"' in page
    assert not Booking.objects.exists(), "looking is not booking"

    with TestCase.captureOnCommitCallbacks(execute=True):
        booked = client.post(
            _link(lead), {"slot": "2026-03-02T12:00:00+00:00", "tz": "America/New_York"}, headers=US
        )
    assert booked.status_code == 302 and "booked=1" in booked["Location"]
    booking = Booking.objects.get(lead=lead, status="booked")
    assert booking.starts_at == datetime(2026, 3, 2, 7, 0, tzinfo=NEW_YORK)
    done = _page(client.get(booked["Location"], headers=US))
    assert "You're booked!" in done and "Monday, March 2, 2026, 7:00 AM – 7:30 AM" in done
    assert "with Rita Lopez · Phone: Rita calls you" in done


def test_a_time_taken_before_confirming_sends_the_prospect_back_with_a_message(
    client: Client, rep: RepProfile
) -> None:
    lead, other = LeadFactory(time_zone="America/New_York"), LeadFactory()
    first = _slot_links(_page(client.get(_link(lead), headers=US)))[0]
    Booking.objects.create(
        lead=other,
        rep=rep,
        starts_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 2, 12, 30, tzinfo=UTC),
    )

    response = client.get(first, headers=US)

    assert response.status_code == 302 and "slot=" not in response["Location"]
    page = _page(client.get(response["Location"], headers=US))
    assert "That time is no longer free. Please choose another." in page
    assert "7:00 AM" not in _times(page)


@pytest.mark.parametrize("slot", ["noon", "2026-03-02T12:00:00"])
def test_a_confirm_link_with_a_bad_time_is_a_400(
    client: Client, rep: RepProfile, slot: str
) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    response = client.get(_link(lead), {"slot": slot})
    assert response.status_code == 400
    assert "Please choose one of the times below." in _page(response)


def test_a_slot_outside_the_prospects_local_hours_cannot_be_booked(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    four_am = datetime(2026, 3, 2, 4, 0, tzinfo=NEW_YORK)  # the rep's 10:00 in Berlin
    response = client.post(_link(lead), {"slot": four_am.isoformat()})
    assert response.status_code == 409
    assert "that time was just taken" in _page(response)
    assert not Booking.objects.exists()


def test_booking_in_a_chosen_zone_makes_it_the_leads_and_the_emails(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(time_zone="")
    seven = datetime(2026, 3, 2, 7, 0, tzinfo=NEW_YORK)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(_link(lead), {"slot": seven.isoformat(), "tz": "America/New_York"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.time_zone == "America/New_York"
    prospect = next(m for m in mail.outbox if m.to == [lead.email])
    assert prospect.subject == "Confirmed: your consultation on Mon 2 Mar, 07:00"
    assert "Monday 2 March 2026 at 07:00 Eastern Time (New York), 30 minutes" in prospect.body


def test_a_post_without_the_csrf_token_books_nothing(rep: RepProfile) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    seven = datetime(2026, 3, 2, 7, 0, tzinfo=NEW_YORK)
    response = Client(enforce_csrf_checks=True).post(_link(lead), {"slot": seven.isoformat()})
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_cancelling_asks_first_and_only_a_post_cancels(client: Client, rep: RepProfile) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    client.post(_link(lead), {"slot": datetime(2026, 3, 2, 8, 0, tzinfo=NEW_YORK).isoformat()})
    booked = _page(client.get(_link(lead), headers=US))
    cancel_href = re.search(r'href="([^"]+/cancel/[^"]*)">Cancel booking…</a>', booked)
    assert cancel_href, booked

    ask = client.get(cancel_href.group(1), headers=US)

    assert ask.status_code == 200
    page = _page(ask)
    assert "Are you sure you want to cancel your consultation on" in page
    assert "<strong>Monday, March 2, 2026, 8:00 AM – 8:30 AM</strong>" in page
    assert "Eastern Time (New York)" in page and "with Rita Lopez?" in page
    assert 'name="csrfmiddlewaretoken"' in page and "No, keep it" in page
    assert Booking.objects.get(lead=lead).status == "booked", "asking cancels nothing"

    done = client.post(_link(lead) + "cancel/", {"tz": "America/New_York"}, headers=US)
    assert done.status_code == 200
    assert "Your consultation on Monday, March 2, 2026, 8:00 AM is cancelled." in _page(done)
    assert Booking.objects.get(lead=lead).status == "cancelled"

    nothing = client.get(_link(lead) + "cancel/")
    assert nothing.status_code == 302
    assert "nothing to cancel" in _page(client.get(nothing["Location"]))


def test_a_reschedule_shows_the_current_slot_then_moves_it(client: Client, rep: RepProfile) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    client.post(_link(lead), {"slot": datetime(2026, 3, 2, 8, 0, tzinfo=NEW_YORK).isoformat()})
    booked = _page(client.get(_link(lead), headers=US))
    assert _times(booked) == [], "a booked prospect sees the booking, not the picker"
    reschedule = re.search(r'href="([^"]+)">Reschedule</a>', booked)
    assert reschedule and "reschedule=1" in reschedule.group(1)

    picker = _page(client.get(reschedule.group(1), headers=US))
    assert (
        "You are moving your consultation on <strong>Monday, March 2, 2026, "
        "8:00 AM – 8:30 AM</strong>"
    ) in picker
    nine = next(link for link in _slot_links(picker) if "T14%3A00" in link)
    assert "reschedule=1" in nine

    confirm = _page(client.get(nine, headers=US))
    assert "Move your consultation?" in confirm
    assert "Currently: <s>Monday, March 2, 2026, 8:00 AM – 8:30 AM</s>" in confirm
    assert "New time: <strong>Monday, March 2, 2026, 9:00 AM – 9:30 AM</strong>" in confirm

    moved = client.post(
        _link(lead),
        {"slot": "2026-03-02T14:00:00+00:00", "reschedule": "1", "tz": "America/New_York"},
    )
    assert moved.status_code == 302 and "reschedule" not in moved["Location"]
    assert list(Booking.objects.filter(lead=lead).values_list("status", flat=True)) == [
        "cancelled",
        "booked",
    ]


def test_the_embedded_picker_may_be_framed_by_the_site_only(
    client: Client, rep: RepProfile
) -> None:
    lead = LeadFactory(time_zone="America/New_York")
    full = client.get(_link(lead))
    assert full["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in full["Content-Security-Policy"]

    embedded = client.get(_link(lead) + "?embed=1", headers=US)

    assert embedded["X-Frame-Options"] == "SAMEORIGIN"
    policy = embedded["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    page = _page(embedded)
    assert 'class="lf-embed"' in page and "Pick a time for your free consultation" in page
    assert "Book your free consultation</h1>" not in page
    assert all("embed=1" in link for link in _slot_links(page))
    confirm = client.get(_slot_links(page)[0], headers=US)
    assert confirm["X-Frame-Options"] == "SAMEORIGIN"
    assert 'name="embed" value="1"' in _page(confirm)
    booked = client.post(
        _link(lead), {"slot": "2026-03-02T12:00:00+00:00", "embed": "1", "tz": "America/New_York"}
    )
    assert "embed=1" in booked["Location"]
    assert client.get(booked["Location"])["X-Frame-Options"] == "SAMEORIGIN"


def test_paging_months_and_an_edited_month_link(client: Client, rep: RepProfile) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 7, 0, tzinfo=UTC), tick=False):
        lead = LeadFactory(time_zone="Europe/Berlin")
        page = _page(client.get(_link(lead), headers=GERMAN))
        assert "March 2026</h2>" in page and "Next month" in page
        april = re.search(r'href="([^"]+month=2026-04)"', page)
        assert april
        next_page = _page(client.get(april.group(1), headers=GERMAN))
        assert "April 2026</h2>" in next_page and "Previous month" in next_page
        assert '<h2 class="h6" id="times-heading">Wednesday 1 April</h2>' in next_page
        edited = _page(client.get(_link(lead) + "?month=2031-01", headers=GERMAN))
        assert "March 2026</h2>" in edited, "a month without times shows the first with some"


@pytest.mark.parametrize("value", ["7-21", "21:00-07:00", ""])
def test_a_malformed_local_hours_setting_is_named(settings: Any, value: str) -> None:
    settings.BOOKING_LOCAL_HOURS = value
    with pytest.raises(ImproperlyConfigured, match="BOOKING_LOCAL_HOURS"):
        local_hours()


def test_what_the_prospect_typed_is_shown_as_text(client: Client, rep: RepProfile) -> None:
    lead = LeadFactory(
        time_zone="America/New_York",
        first_name="<b>Kat</b>",
        company='<a href="https://evil.example">Langley</a>',
    )
    first = _slot_links(_page(client.get(_link(lead), headers=US)))[0]
    page = client.get(first, headers=US).content.decode()
    assert "&lt;b&gt;Kat&lt;/b&gt;" in page and "<b>Kat" not in page
    assert 'href="https://evil.example"' not in page
