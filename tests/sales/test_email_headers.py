"""Sales emails reach a person when answered, and carry a Message-ID of the sender's domain;
a rep books for a lead through the lead's own booking page, confirmations and all."""

import email.policy
import re
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase

from nurture.tokens import booking_token
from sales.models import Booking
from sales.services.handoff import open_handoff
from tests.factories import LeadFactory, marketer
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
SENDER = "Acme <hello@leads.acme.com>"
# Monday 2 March 2026, 08:00 in Berlin.
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_the_reps_hand_off_email_replies_to_the_lead(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = SENDER
    rita = make_rep("rita", email="rita@acme.com")
    lead = LeadFactory(
        temperature="hot",
        score=80,
        first_name="María",
        last_name="González",
        email="maria@northwind.co.uk",
        owner=rita,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        open_handoff(lead_id=lead.pk)

    [message] = mail.outbox
    parsed = message.message()
    assert message.to == ["rita@acme.com"]
    assert parsed["Reply-To"] == "María González <maria@northwind.co.uk>"
    assert parsed["Message-ID"].endswith("@leads.acme.com>")


def test_the_reply_to_keeps_the_leads_address_whatever_its_name_holds(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = SENDER
    rita = make_rep("rita", email="rita@acme.com")
    lead = LeadFactory(
        temperature="hot",
        score=80,
        first_name="Zoë <b>Bold</b>",
        last_name='"Q" \\ Smith',
        email="zoe@example.com",
        owner=rita,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        open_handoff(lead_id=lead.pk)

    [message] = mail.outbox
    [reply_to] = _parsed(message)["Reply-To"].addresses
    assert reply_to.addr_spec == "zoe@example.com"
    assert reply_to.display_name == 'Zoë <b>Bold</b> "Q" \\ Smith'


def _parsed(message: Any) -> Any:
    """The message as a mail client reads the bytes sent."""
    return message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def _bookable_rep() -> User:
    rep = make_rep(
        "rita",
        email="rita@acme.com",
        time_zone="Europe/Berlin",
        slot_minutes=30,
        weekly_hours={str(day): [["09:00", "17:00"]] for day in range(5)},
    )
    rep.first_name, rep.last_name = "Rita", "Moreno"
    rep.save(update_fields=["first_name", "last_name"])
    return rep


def test_the_booking_confirmation_replies_to_the_rep_and_the_reps_copy_to_the_prospect(
    settings: Any, client: Client
) -> None:
    settings.DEFAULT_FROM_EMAIL = SENDER
    _bookable_rep()
    lead = LeadFactory(
        time_zone="Europe/Berlin", first_name="Bo", last_name="Berg", email="bo@berg.se"
    )
    slot = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with time_machine.travel(NOW, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/book/{booking_token(lead_uid=str(lead.uid))}/", {"slot": slot.isoformat()}
        )
    assert response.status_code == 302
    assert Booking.objects.get(lead=lead).rep.user.username == "rita"
    by_recipient = {message.to[0]: message.message() for message in mail.outbox}
    assert sorted(by_recipient) == ["bo@berg.se", "rita@acme.com"]
    assert by_recipient["bo@berg.se"]["Reply-To"] == "Rita Moreno <rita@acme.com>"
    assert by_recipient["rita@acme.com"]["Reply-To"] == "Bo Berg <bo@berg.se>"
    for parsed in by_recipient.values():
        assert parsed["Message-ID"].endswith("@leads.acme.com>")


def test_the_reps_booking_copy_replies_to_a_lead_whose_name_holds_brackets(
    settings: Any, client: Client
) -> None:
    settings.DEFAULT_FROM_EMAIL = SENDER
    _bookable_rep()
    lead = LeadFactory(
        time_zone="Europe/Berlin",
        first_name="Zoë <b>Bold</b>",
        last_name="",
        email="zoe@example.com",
    )
    slot = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with time_machine.travel(NOW, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/book/{booking_token(lead_uid=str(lead.uid))}/", {"slot": slot.isoformat()}
        )
    assert response.status_code == 302
    [to_rep] = [message for message in mail.outbox if message.to == ["rita@acme.com"]]
    [reply_to] = _parsed(to_rep)["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == ("Zoë <b>Bold</b>", "zoe@example.com")


def test_a_rep_books_a_meeting_from_the_lead_page_through_the_leads_booking_page(
    settings: Any, client: Client
) -> None:
    settings.DEFAULT_FROM_EMAIL = SENDER
    rita = _bookable_rep()
    lead = LeadFactory(time_zone="Europe/Berlin", first_name="Bo", email="bo@berg.se", owner=rita)
    client.force_login(rita)
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
        link = re.search(
            r'<a class="[^"]*" href="([^"]+)" target="_blank" rel="noopener" '
            r'id="book-meeting">Book a meeting</a>',
            page,
        )
        assert link is not None and "No meeting booked." in page
        assert link.group(1) == f"{settings.SITE_URL}/book/{booking_token(lead_uid=str(lead.uid))}/"

        slot = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
        path = link.group(1).removeprefix(settings.SITE_URL)
        with TestCase.captureOnCommitCallbacks(execute=True):
            booked = client.post(path, {"slot": slot.isoformat()})
        assert booked.status_code == 302
        page = client.get(f"/sales/leads/{lead.pk}/").content.decode()

    assert Booking.objects.get(lead=lead).starts_at == slot
    assert sorted(message.to[0] for message in mail.outbox) == ["bo@berg.se", "rita@acme.com"]
    upcoming = re.search(
        r'<ul class="list-unstyled small mb-2" id="upcoming-bookings">(.*?)</ul>', page, re.S
    )
    assert upcoming is not None
    # In Rita's zone (Berlin), with the zone.
    assert "Mon 2 Mar 2026 14:00 CET</time> · Rita Moreno" in upcoming.group(1)


def test_a_marketer_is_not_offered_to_book_for_a_lead(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(marketer())
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "Book a meeting" not in page and "/book/" not in page
