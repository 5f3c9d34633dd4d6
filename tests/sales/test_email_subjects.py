"""Email subjects are plain text: a name with quotes or "&" reads as typed, not as HTML."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail

from capture.models import Lead
from leadfunnel.groups import SALES_REPS
from sales.models import RepProfile
from sales.services.booking import book_slot
from scoring.models import ScoreChange
from scoring.signals import temperature_changed
from tests.factories import LeadFactory
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db

FIRST, LAST, COMPANY = "Zoë", 'O\'Brien "Zee"', "Smith & Sons <Ltd>"


def test_the_hand_off_subject_shows_the_name_as_typed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_rep("ann")
    lead = LeadFactory(
        temperature="hot", score=75, first_name=FIRST, last_name=LAST, company=COMPANY
    )

    with django_capture_on_commit_callbacks(execute=True):
        temperature_changed.send(sender=ScoreChange, lead_id=lead.pk, old="warm", new="hot")

    (message,) = mail.outbox
    assert message.subject == 'Hot lead: Zoë O\'Brien "Zee", Smith & Sons <Ltd> (score 75)'
    assert message.body.startswith('Zoë O\'Brien "Zee" at Smith & Sons <Ltd> just turned hot')
    html, _ = message.alternatives[0]
    assert "Smith &amp; Sons &lt;Ltd&gt;" in html, "the HTML part stays escaped"


def test_the_booking_subject_for_the_rep_shows_the_name_as_typed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    user = User.objects.create_user("rita", email="rita@leadfunnel.example")
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    RepProfile.objects.create(
        user=user, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30
    )
    lead: Lead = LeadFactory(first_name=FIRST, last_name=LAST, time_zone="Europe/Berlin")

    with (
        time_machine.travel(datetime(2026, 3, 2, 7, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        book_slot(lead=lead, starts_at=datetime(2026, 3, 2, 14, 0, tzinfo=berlin))

    (to_rep,) = [message for message in mail.outbox if message.to == [user.email]]
    assert to_rep.subject == 'New booking: Zoë O\'Brien "Zee" on Mon 2 Mar, 14:00 CET'
