"""The booking page's zone belongs to one lead's page, and a moved booking reads as a move.

Through the real pages: a rep opens "Book a meeting" on the lead page, a prospect follows
the link in an email; both confirm with the confirm page's own form.
"""

import html
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase

from capture.models import Lead
from nurture.tokens import booking_token
from sales.models import Booking, RepProfile
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday: 08:00 in Berlin and Lagos, 01:00 in Chicago
US = {"accept-language": "en-US,en;q=0.9"}


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rita() -> User:
    rep = sales_rep()
    rep.first_name, rep.last_name, rep.email = "Rita", "Lopez", "rita@leadfunnel.example"
    rep.save()
    # Berlin 09:00–17:00 is 02:00–10:00 in Chicago: 07:00–10:00 there is bookable.
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    RepProfile.objects.create(
        user=rep, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30
    )
    return rep


def _link(lead: Lead) -> str:
    return f"/book/{booking_token(lead_uid=str(lead.uid))}/"


def _page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def _book_a_meeting(client: Client, lead: Lead) -> str:
    """The lead page's "Book a meeting" link, as a path."""
    page = _page(client.get(f"/sales/leads/{lead.pk}/"))
    link = re.search(r'href="http://localhost:8000(/book/[^"]+)"[^>]*id="book-meeting"', page)
    assert link, page
    return link.group(1)


def _slot_links(page: str) -> list[tuple[str, str]]:
    return re.findall(r'class="[^"]*lf-time" href="([^"]+)">([^<]+)<', page)


def _confirm(client: Client, confirm_url: str) -> Any:
    """Submits the confirm page's form as a browser would (its hidden fields only)."""
    page = _page(client.get(confirm_url, headers=US))
    form = re.search(r'<form method="post" action="([^"]+)"(.*?)</form>', page, re.S)
    assert form, page
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(form.group(1), fields, headers=US)
    assert response.status_code == 302, response.status_code
    return response


def _to(address: str) -> Any:
    (message,) = [message for message in mail.outbox if message.to == [address]]
    return message


def test_a_rep_booking_two_leads_in_one_session_books_each_in_its_own_zone(
    client: Client, rita: User
) -> None:
    sam = LeadFactory(first_name="Sam", last_name="Okafor", time_zone="Africa/Lagos")
    kara = LeadFactory(first_name="Kara", last_name="Novak", time_zone="America/Chicago")
    client.force_login(rita)
    sams_page = _page(client.get(_book_a_meeting(client, sam), headers=US))
    assert "Times are shown in <strong>West Africa Time (Lagos)</strong>" in sams_page
    _confirm(client, _slot_links(sams_page)[0][0])

    karas_page = _page(client.get(_book_a_meeting(client, kara), headers=US))

    assert "Times are shown in <strong>Central Time (Chicago)</strong>" in karas_page
    assert '<option value="America/Chicago" selected>' in karas_page
    assert (
        "Booking for Kara Novak. Times are shown in <strong>Central Time (Chicago)</strong>,"
        " the lead's zone"
    ) in karas_page
    first_url, first_label = _slot_links(karas_page)[0]
    assert first_label == "7:00 AM"
    _confirm(client, first_url)
    to_kara = _to(kara.email)
    assert to_kara.subject == "Confirmed: your consultation on Mon 2 Mar, 07:00"
    assert "Monday 2 March 2026 at 07:00 Central Time (Chicago), 30 minutes" in to_kara.body
    assert "Lagos" not in to_kara.body
    kara.refresh_from_db()
    sam.refresh_from_db()
    assert (kara.time_zone, sam.time_zone) == ("America/Chicago", "Africa/Lagos")
    assert Booking.objects.get(lead=kara).starts_at == datetime(2026, 3, 2, 7, 0, tzinfo=CHICAGO)


def test_a_zone_a_rep_picks_is_for_reading_only_and_never_the_leads(
    client: Client, rita: User
) -> None:
    kara = LeadFactory(first_name="Kara", last_name="Novak", time_zone="America/Chicago")
    client.force_login(rita)
    link = _book_a_meeting(client, kara)

    page = _page(client.get(link + "?tz=Europe/Berlin", headers=US))

    assert "Times are shown in <strong>Central European Time (Berlin)</strong>" in page
    assert "the lead's zone is Central Time (Chicago)" in page
    # Still the lead's own day: 07:00 in Chicago is the first time, 14:00 in Berlin.
    first_url, first_label = _slot_links(page)[0]
    assert first_label == "2:00 PM"
    _confirm(client, first_url)
    kara.refresh_from_db()
    assert kara.time_zone == "America/Chicago"
    assert "Monday 2 March 2026 at 07:00 Central Time (Chicago)" in _to(kara.email).body


def test_a_zone_picked_on_one_leads_page_stays_on_that_page(client: Client, rita: User) -> None:
    sam = LeadFactory(time_zone="Africa/Lagos")
    kara = LeadFactory(time_zone="America/Chicago")
    client.get(_link(sam) + "?tz=Europe/London", headers=US)
    assert "<strong>UK Time (London)</strong>" in _page(client.get(_link(sam), headers=US))

    page = _page(client.get(_link(kara), headers=US))

    assert "Times are shown in <strong>Central Time (Chicago)</strong>." in page
    assert "Booking for" not in page, "a prospect is not told whom they book for"
    _confirm(client, _slot_links(page)[0][0])
    kara.refresh_from_db()
    assert kara.time_zone == "America/Chicago"


def test_a_zone_the_prospect_picks_on_their_page_becomes_theirs(client: Client, rita: User) -> None:
    kara = LeadFactory(time_zone="America/Chicago")
    client.get(_link(kara) + "?tz=America/New_York", headers=US)

    page = _page(client.get(_link(kara), headers=US))

    assert "Times are shown in <strong>Eastern Time (New York)</strong>." in page
    _confirm(client, _slot_links(page)[0][0])
    kara.refresh_from_db()
    assert kara.time_zone == "America/New_York"
    assert "at 07:00 Eastern Time (New York)" in _to(kara.email).body


def test_moving_a_booking_tells_both_sides_it_moved(client: Client, rita: User) -> None:
    kara = LeadFactory(first_name="Kara", last_name="Novak", time_zone="America/Chicago")
    page = _page(client.get(_link(kara), headers=US))
    seven = next(url for url, label in _slot_links(page) if label == "7:00 AM")
    _confirm(client, seven)
    first_invite = icalendar.Calendar.from_ical(_to(kara.email).attachments[0][1])
    booked = _page(client.get(_link(kara), headers=US))
    reschedule = re.search(r'href="([^"]+)">Reschedule</a>', booked)
    assert reschedule
    picker = _page(client.get(reschedule.group(1), headers=US))
    nine = next(url for url, label in _slot_links(picker) if label == "9:00 AM")

    _confirm(client, nine)

    to_rita = _to(rita.email)
    assert to_rita.subject == "Moved: Kara Novak from Mon 2 Mar, 14:00 CET to Mon 2 Mar, 16:00 CET"
    assert "Kara Novak" in to_rita.body and "moved the consultation with you" in to_rita.body
    assert "from Monday 2 March 2026, 14:00 CET to Monday 2 March 2026, 16:00 CET" in (to_rita.body)
    assert "booked a consultation" not in to_rita.body
    to_kara = _to(kara.email)
    assert to_kara.subject == "Moved: your consultation is now Mon 2 Mar, 09:00"
    assert (
        "Your consultation is moved from Monday 2 March 2026 at 07:00 to Monday 2 March 2026"
        " at 09:00 Central Time (Chicago), 30 minutes with Rita Lopez."
    ) in to_kara.body
    html_body, _ = to_kara.alternatives[0]
    assert "moved from" in html_body and "You're booked" not in html.unescape(html_body)
    (before,) = first_invite.walk("VEVENT")
    for message in (to_rita, to_kara):
        ((_, content, mimetype),) = message.attachments
        assert mimetype.startswith("text/calendar; method=REQUEST")
        (event,) = icalendar.Calendar.from_ical(content).walk("VEVENT")
        assert str(event["uid"]) == str(before["uid"])
        assert int(event["sequence"]) == int(before["sequence"]) + 1
        assert event.decoded("dtstart") == datetime(2026, 3, 2, 9, 0, tzinfo=CHICAGO)


def test_a_first_booking_still_reads_as_new(client: Client, rita: User) -> None:
    kara = LeadFactory(first_name="Kara", last_name="Novak", time_zone="America/Chicago")
    page = _page(client.get(_link(kara), headers=US))
    _confirm(client, _slot_links(page)[0][0])
    assert _to(rita.email).subject == "New booking: Kara Novak on Mon 2 Mar, 14:00 CET"
    assert _to(kara.email).subject == "Confirmed: your consultation on Mon 2 Mar, 07:00"


def test_a_move_to_another_reps_time_tells_the_new_rep_whose_it_was(
    client: Client, rita: User
) -> None:
    otto = sales_rep()
    otto.first_name, otto.last_name, otto.email = "Otto", "Berg", "otto@leadfunnel.example"
    otto.save()
    # Only Rita is free at 16:00 in Berlin; Otto (listed after her) only at 15:00.
    RepProfile.objects.filter(user=rita).update(weekly_hours={"0": [["16:00", "17:00"]]})
    RepProfile.objects.create(
        user=otto, time_zone="Europe/Berlin", weekly_hours={"0": [["15:00", "16:00"]]}
    )
    kara = LeadFactory(first_name="Kara", last_name="Novak", time_zone="America/Chicago")
    page = _page(client.get(_link(kara), headers=US))
    _confirm(client, next(url for url, label in _slot_links(page) if label == "9:00 AM"))
    picker = _page(client.get(_link(kara) + "?reschedule=1", headers=US))

    _confirm(client, next(url for url, label in _slot_links(picker) if label == "8:00 AM"))

    to_otto = _to(otto.email)
    assert to_otto.subject == "Moved: Kara Novak from Mon 2 Mar, 16:00 CET to Mon 2 Mar, 15:00 CET"
    assert (
        "moved the consultation from Monday 2 March 2026, 16:00 CET with Rita Lopez"
        " to Monday 2 March 2026, 15:00 CET, now with you."
    ) in to_otto.body
