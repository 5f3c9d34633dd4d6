import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.test import Client, TestCase

from capture.models import Activity, Lead
from leadfunnel.groups import SALES_REPS
from nurture.services.composing import merge_context
from nurture.services.scheduling import enroll_lead
from nurture.tokens import booking_token
from sales.models import Booking, RepProfile
from sales.services.booking import SlotTaken, available_slots, book_slot
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 2 March 2026, 08:00 in Berlin.
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _rep(username: str = "rita", **profile: Any) -> RepProfile:
    user = User.objects.create_user(
        username, email=f"{username}@leadfunnel.example", first_name=username.title()
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "12:00"], ["13:00", "17:00"]] for day in range(5)}
    return RepProfile.objects.create(
        user=user, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30, **profile
    )


def _link(lead: Lead) -> str:
    return f"/book/{booking_token(lead_uid=str(lead.uid))}/"


def test_slots_follow_the_reps_hours_and_notice() -> None:
    _rep()
    slots = available_slots()
    first = slots[0].starts_at.astimezone(BERLIN)
    assert first == datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN), "two hours' notice from 08:00"
    local_times = {s.starts_at.astimezone(BERLIN).time().isoformat() for s in slots}
    assert "12:00:00" not in local_times and "12:30:00" not in local_times, "lunch is off"
    assert "16:30:00" in local_times and "17:00:00" not in local_times
    assert all(s.starts_at.astimezone(BERLIN).weekday() < 5 for s in slots), "no weekends"
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)


def test_a_blocked_date_offers_nothing() -> None:
    rep = _rep()
    rep.blocked_dates.create(date=date(2026, 3, 3), reason="Conference")
    days = {s.starts_at.astimezone(BERLIN).date().isoformat() for s in available_slots()}
    assert "2026-03-03" not in days and "2026-03-04" in days


def test_the_day_seven_link_opens_the_booking_page_in_the_prospects_zone(client: Client) -> None:
    _rep()
    lead = LeadFactory(time_zone="America/New_York")
    url = merge_context(lead=lead)["booking_url"].removeprefix("http://localhost:8000")
    response = client.get(url, headers={"accept-language": "en-US,en;q=0.9"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Times are shown in <strong>Eastern Time (New York)</strong>" in html
    # The rep's 10:00 in Berlin is 04:00 in New York: not offered before 07:00 there, so
    # the day starts at 13:00 Berlin, 7:00 AM in New York (both on winter time).
    assert "4:00 AM" not in html and "6:30 AM" not in html
    times = re.findall(r'class="btn btn-outline-primary w-100 lf-time" href="[^"]+">([^<]+)<', html)
    assert times[0] == "7:00 AM" and times[-1] == "10:30 AM", times


def test_booking_a_slot_books_stops_the_sequence_and_sends_invites(client: Client) -> None:
    rep = _rep()
    lead = LeadFactory(time_zone="Europe/Berlin", first_name="Bo")
    with TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=lead, sequence=playbook_sequence())
    mail.outbox.clear()
    slot = datetime(2026, 3, 2, 14, 0, tzinfo=BERLIN)

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(_link(lead), {"slot": slot.isoformat()})

    assert response.status_code == 302
    booking = Booking.objects.get(lead=lead)
    assert (booking.rep, booking.starts_at, booking.status) == (rep, slot, "booked")
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.BOOKED
    assert Activity.objects.filter(lead=lead, kind="booking_made").exists()
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "booked")
    assert sorted(m.to[0] for m in mail.outbox) == [lead.email, rep.user.email]
    prospect = next(m for m in mail.outbox if m.to == [lead.email])
    assert prospect.subject == "Confirmed: your consultation on Mon 2 Mar, 14:00"
    assert "Reschedule or cancel: http://localhost:8000/book/" in prospect.body
    _, content, mimetype = prospect.attachments[0]
    assert mimetype.startswith("text/calendar; method=REQUEST")
    event = icalendar.Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == slot
    assert str(event["attendee"]) == f"mailto:{lead.email}"
    page = client.get(response["Location"]).content.decode()
    assert "You&#x27;re booked!" in page or "You're booked!" in page
    assert slot not in {s.starts_at for s in available_slots()}, "the slot is no longer offered"


def test_the_owner_gets_the_booking_when_free() -> None:
    _rep("ann")
    owner = _rep("otto")
    lead = LeadFactory(owner=owner.user)
    booking = book_slot(lead=lead, starts_at=datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    assert booking.rep == owner


def test_a_slot_no_longer_free_gets_a_clear_message(client: Client) -> None:
    _rep()
    first, second = LeadFactory(), LeadFactory()
    slot = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN).isoformat()
    assert client.post(_link(first), {"slot": slot}).status_code == 302
    response = client.post(_link(second), {"slot": slot})
    assert response.status_code == 409
    assert "that time was just taken" in response.content.decode()
    assert not Booking.objects.filter(lead=second).exists()


@pytest.mark.parametrize("value", ["", "tomorrow", "2026-03-02T10:00:00"])
def test_a_bad_slot_value_is_a_400(client: Client, value: str) -> None:
    _rep()
    response = client.post(_link(LeadFactory()), {"slot": value})
    assert response.status_code == 400
    assert "Please choose one of the times below." in response.content.decode()
    assert not Booking.objects.exists()


def test_a_tampered_or_expired_link_is_refused(client: Client) -> None:
    _rep()
    lead = LeadFactory()
    assert client.get("/book/forged-token/").status_code == 404
    good = _link(lead)
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        assert client.get(good).status_code == 404
    assert client.get(good).status_code == 200


def test_cancel_frees_the_slot_and_reschedule_moves_it(client: Client) -> None:
    _rep()
    lead = LeadFactory(time_zone="Europe/Berlin")
    ten = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    eleven = datetime(2026, 3, 2, 11, 0, tzinfo=BERLIN)
    client.post(_link(lead), {"slot": ten.isoformat()})
    client.post(_link(lead), {"slot": eleven.isoformat()})
    assert list(Booking.objects.filter(lead=lead).values_list("starts_at", "status")) == [
        (ten, "cancelled"),
        (eleven, "booked"),
    ]
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(_link(lead) + "cancel/")
    assert response.status_code == 200
    assert not Booking.objects.filter(status="booked").exists()
    assert eleven in {s.starts_at for s in available_slots()}
    assert "method=CANCEL" in mail.outbox[0].attachments[0][2]


def test_the_invite_downloads(client: Client) -> None:
    _rep()
    lead = LeadFactory()
    client.post(_link(lead), {"slot": datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN).isoformat()})
    response = client.get(_link(lead) + "invite.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert re.search(rb"DTSTART[^:]*:20260302T090000Z", response.content)


@pytest.mark.django_db(transaction=True)
def test_two_prospects_racing_for_one_slot_get_one_booking() -> None:
    _rep()
    leads = [LeadFactory(), LeadFactory()]
    slot = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(lead: Lead) -> None:
        try:
            with time_machine.travel(NOW, tick=False):
                barrier.wait()
                book_slot(lead=lead, starts_at=slot)
            outcomes.append("booked")
        except SlotTaken:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "taken"]
    assert Booking.objects.filter(starts_at=slot, status="booked").count() == 1
