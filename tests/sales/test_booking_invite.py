"""The booking confirmation (issue 14, bodies): an HTML part, and a calendar invite that
calendars file, update and cancel as one event, parsed with `icalendar` field by field."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase

from nurture.tokens import booking_token
from sales.models import RepProfile
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin
SENDER = "hello@mail.leadfunnel.example"
MEETING = "https://meet.leadfunnel.example/rita-lopez"
# The weekly-hours picker's rows: a start and an end per range, in order.
HOURS = {
    key: value
    for day in range(5)
    for key, value in (
        (f"day{day}_start", ["09:00", "13:00"]),
        (f"day{day}_end", ["12:00", "17:00"]),
    )
}


@pytest.fixture(autouse=True)
def _frozen(settings: Any) -> Any:
    settings.DEFAULT_FROM_EMAIL = f"leadfunnel <{SENDER}>"
    with time_machine.travel(NOW, tick=False):
        yield


def _rep_with_meeting_link(client: Client) -> User:
    rep = sales_rep()
    rep.first_name, rep.last_name, rep.email = "Rita", "Lopez", "rita@leadfunnel.example"
    rep.save()
    client.force_login(rep)
    response = client.post(
        "/sales/availability/",
        {
            "action": "hours",
            "time_zone": "Europe/Berlin",
            "slot_minutes": "45",
            "meeting_url": MEETING,
            **HOURS,
        },
    )
    assert response.status_code == 302
    client.logout()
    return rep


def _book(client: Client, lead: Any, local: datetime) -> Any:
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/book/{booking_token(lead_uid=str(lead.uid))}/", {"slot": local.isoformat()}
        )
    assert response.status_code == 302
    return next(m for m in mail.outbox if m.to == [lead.email])


def _event(message: Any) -> tuple[icalendar.Calendar, Any]:
    [(_, content, mimetype)] = message.attachments
    calendar = icalendar.Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    assert mimetype.startswith(f"text/calendar; method={calendar['method']}")
    return calendar, event


def test_it_invites_with_organizer_attendee_location_and_a_unique_uid(client: Client) -> None:
    rep = _rep_with_meeting_link(client)
    lead = LeadFactory(first_name="Bo", last_name="Berg", time_zone="Europe/Berlin")
    half_past_ten = datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN)

    message = _book(client, lead, half_past_ten)

    calendar, event = _event(message)
    assert str(calendar["method"]) == "REQUEST"
    uid = str(event["uid"])
    local, _, domain = uid.partition("@")
    assert domain == "mail.leadfunnel.example" and uuid.UUID(local).version == 4
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (
        half_past_ten,
        datetime(2026, 3, 2, 11, 15, tzinfo=BERLIN),
    )
    assert str(event["location"]) == MEETING and str(event["url"]) == MEETING
    assert int(event["sequence"]) == 0 and str(event["status"]) == "CONFIRMED"
    organizer = event["organizer"]
    assert str(organizer) == "mailto:rita@leadfunnel.example"
    assert str(organizer.params["CN"]) == "Rita Lopez"
    assert str(organizer.params["SENT-BY"]) == f"mailto:{SENDER}"
    assert message.from_email == f"Rita Lopez <{SENDER}>", "the From the organizer names"
    assert parseaddr(message.from_email)[0] == organizer.params["CN"]
    attendee = event["attendee"]
    assert str(attendee) == f"mailto:{lead.email}"
    assert {key: str(value) for key, value in attendee.params.items()} == {
        "CN": "Bo Berg",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "TRUE",
    }

    other = LeadFactory(time_zone="Europe/Berlin")
    other_uid = str(_event(_book(client, other, half_past_ten + timedelta(minutes=45)))[1]["uid"])
    assert other_uid != uid, "each booking its own event"
    assert rep.rep_profile.meeting_url == MEETING


def test_the_confirmation_has_an_html_part_with_the_text_parts_links(client: Client) -> None:
    _rep_with_meeting_link(client)
    lead = LeadFactory(first_name="Bo", time_zone="Europe/Berlin")

    message = _book(client, lead, datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN))

    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert (
        "<strong>Monday 2 March 2026 at 10:30</strong> Central European Time (Berlin),"
        " 45 minutes with Rita" in html
    )
    html_links = re.findall(r'href="([^"]+)"', str(html))
    text_links = re.findall(r"https?://\S+", message.body)
    assert html_links == text_links and html_links[0] == MEETING
    assert html_links[1].startswith("http://localhost:8000/book/")
    assert "45 minutes with Rita Lopez.\nJoin the call: " + MEETING in message.body


def test_a_reschedule_and_a_cancel_update_the_same_event(client: Client) -> None:
    _rep_with_meeting_link(client)
    lead = LeadFactory(time_zone="Europe/Berlin")
    first = _event(_book(client, lead, datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN)))[1]
    eleven = datetime(2026, 3, 2, 13, 0, tzinfo=BERLIN)

    calendar, moved = _event(_book(client, lead, eleven))

    assert str(calendar["method"]) == "REQUEST"
    assert str(moved["uid"]) == str(first["uid"]), "the same event, moved"
    assert int(moved["sequence"]) == 1 and moved.decoded("dtstart") == eleven

    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/book/{booking_token(lead_uid=str(lead.uid))}/cancel/")
    assert response.status_code == 200
    calendar, cancelled = _event(next(m for m in mail.outbox if m.to == [lead.email]))
    assert str(calendar["method"]) == "CANCEL" and str(cancelled["status"]) == "CANCELLED"
    assert str(cancelled["uid"]) == str(first["uid"]) and int(cancelled["sequence"]) == 2
    assert cancelled.decoded("dtstart") == eleven


def test_a_meeting_link_that_is_not_https_is_refused_and_nothing_changes(
    client: Client,
) -> None:
    rep = _rep_with_meeting_link(client)
    client.force_login(rep)

    response = client.post(
        "/sales/availability/",
        {
            "action": "hours",
            "time_zone": "Europe/Paris",
            "slot_minutes": "30",
            "meeting_url": "javascript:alert(1)//https://meet.example",
            **HOURS,
        },
    )

    assert response.status_code == 400
    message = "The meeting link must be a full https:// address (500 characters at most)."
    assert message in response.content.decode()
    profile = RepProfile.objects.get(user=rep)
    assert (profile.meeting_url, profile.time_zone, profile.slot_minutes) == (
        MEETING,
        "Europe/Berlin",
        45,
    )
