"""A rep's private calendar feed (issue 16): the bookings as iCalendar, one event per
booking with the invite's UID, cancelled ones marked, behind a signed URL that "Reset link"
invalidates. Parsed with `icalendar`, as a calendar app would."""

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

from nurture.tokens import booking_token
from sales.models import RepProfile
from sales.services.booking import feed_token
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin
HOURS = {
    key: value
    for day in range(5)
    for key, value in ((f"day{day}_start", ["09:00"]), (f"day{day}_end", ["17:00"]))
}


@pytest.fixture(autouse=True)
def _frozen(settings: Any) -> Any:
    settings.DEFAULT_FROM_EMAIL = "leadfunnel <hello@mail.leadfunnel.example>"
    with time_machine.travel(NOW, tick=False):
        yield


def _rep(client: Client, **fields: str) -> User:
    rep = sales_rep()
    rep.first_name, rep.last_name, rep.email = "Rita", "Lopez", "rita@leadfunnel.example"
    rep.save()
    client.force_login(rep)
    response = client.post(
        "/sales/availability/",
        {"action": "hours", "time_zone": "Europe/Berlin", "slot_minutes": "30", **HOURS, **fields},
    )
    assert response.status_code == 302, html.unescape(response.content.decode())
    return rep


def _feed_url(client: Client) -> str:
    page = html.unescape(client.get("/sales/availability/").content.decode())
    found = re.search(r'id="feed_url" value="http://localhost:8000(/book/feed/[^"]+)"', page)
    assert found, page
    return found.group(1)


def _book(client: Client, lead: Any, local: datetime) -> Any:
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/book/{booking_token(lead_uid=str(lead.uid))}/", {"slot": local.isoformat()}
        )
    assert response.status_code == 302
    [(_, content, _)] = next(m for m in mail.outbox if m.to == [lead.email]).attachments
    return icalendar.Calendar.from_ical(content).walk("VEVENT")[0]


def _events(client: Client, url: str) -> list[Any]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert "METHOD" not in calendar, "a published feed, not an invitation"
    return list(calendar.walk("VEVENT"))


def test_the_feed_lists_bookings_with_the_invites_uid_and_marks_cancellations(
    client: Client,
) -> None:
    _rep(client, meeting_url="https://meet.leadfunnel.example/rita")
    url = _feed_url(client)
    client.logout()
    assert _events(client, url) == []
    bo = LeadFactory(
        first_name="Bo", last_name="Berg", company="Berg AB", time_zone="Europe/Berlin"
    )
    ada = LeadFactory(first_name="Ada", last_name="King", time_zone="Europe/Berlin")
    invite = _book(client, bo, datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    _book(client, ada, datetime(2026, 3, 3, 11, 0, tzinfo=BERLIN))
    # Bo moves to 14:00: still one event, with the invite's UID.
    moved = _book(client, bo, datetime(2026, 3, 2, 14, 0, tzinfo=BERLIN))

    bo_event, ada_event = _events(client, url)

    assert str(bo_event["uid"]) == str(invite["uid"]) == str(moved["uid"])
    assert bo_event.decoded("dtstart") == datetime(2026, 3, 2, 14, 0, tzinfo=BERLIN)
    assert int(bo_event["sequence"]) == 1 and str(bo_event["status"]) == "CONFIRMED"
    assert str(bo_event["summary"]) == "Consultation: Bo Berg with Rita Lopez"
    assert str(bo_event["location"]) == "https://meet.leadfunnel.example/rita"
    assert str(bo_event["organizer"].params["CN"]) == "Rita Lopez"
    description = str(bo_event["description"])
    assert description.startswith(f"Bo Berg <{bo.email}>\nBerg AB\n")
    assert f"http://localhost:8000/sales/leads/{bo.pk}/" in description
    assert str(ada_event["summary"]) == "Consultation: Ada King with Rita Lopez"

    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/book/{booking_token(lead_uid=str(ada.uid))}/cancel/")
    statuses = {str(event["summary"]): str(event["status"]) for event in _events(client, url)}
    assert statuses == {
        "Consultation: Bo Berg with Rita Lopez": "CONFIRMED",
        "Consultation: Ada King with Rita Lopez": "CANCELLED",
    }


def test_a_rep_without_a_meeting_link_meets_at_their_place(client: Client) -> None:
    _rep(client, meeting_url="", location="Office, 1 Example Street")
    url = _feed_url(client)
    invite = _book(client, LeadFactory(), datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    assert str(invite["location"]) == "Office, 1 Example Street"
    (event,) = _events(client, url)
    assert str(event["location"]) == "Office, 1 Example Street" and "url" not in event
    assert RepProfile.objects.get().location == "Office, 1 Example Street"


def test_resetting_the_link_stops_the_old_one(client: Client) -> None:
    rep = _rep(client)
    old = _feed_url(client)
    assert client.get(old).status_code == 200

    response = client.post("/sales/availability/", {"action": "reset_feed"})

    assert response.status_code == 302
    page = html.unescape(client.get("/sales/availability/").content.decode())
    assert "Your calendar link is reset" in page
    new = _feed_url(client)
    assert new != old
    client.logout()
    gone = client.get(old)
    assert gone.status_code == 404 and "not valid" in gone.content.decode()
    assert client.get(new).status_code == 200
    assert new.endswith(f"/book/feed/{feed_token(profile=rep.rep_profile)}/consultations.ics")


def test_a_forged_or_edited_feed_link_shows_nothing(client: Client) -> None:
    _rep(client)
    url = _feed_url(client)
    other = sales_rep()
    other_token = feed_token(profile=RepProfile.objects.create(user=other))
    assert client.get(url.replace("/feed/", "/feed/x")).status_code == 404
    assert client.get("/book/feed/forged/consultations.ics").status_code == 404
    assert client.get(f"/book/feed/{other_token}/consultations.ics").status_code == 200
