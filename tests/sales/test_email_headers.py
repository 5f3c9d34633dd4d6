"""Sales emails reach a person when answered, and carry a Message-ID of the sender's domain."""

from datetime import UTC, datetime
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
from tests.factories import LeadFactory
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
