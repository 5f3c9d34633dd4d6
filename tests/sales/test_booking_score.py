"""Booking points through the prospect's booking page: one booking episode scores once."""

import importlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client, TestCase

from capture.models import Lead
from leadfunnel.groups import SALES_REPS
from nurture.tokens import booking_token
from sales.models import Booking, RepProfile
from scoring.demo import seed_default_scoring
from scoring.models import ScoreChange, ScoringRule
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
# Monday 2 March 2026, 08:00 in Berlin; frozen, so booking points do not decay meanwhile.
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
TEN = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
ELEVEN = datetime(2026, 3, 2, 11, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def lead() -> Lead:
    """A lead no fit rule of the default model matches: its score is its bookings'."""
    seed_default_scoring()
    user = User.objects.create_user("rita", email="rita@leadfunnel.example")
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    RepProfile.objects.create(user=user, time_zone="Europe/Berlin", weekly_hours=hours)
    return LeadFactory(email="bo@gmail.com", job_title="", company_size="", answers={})


def _link(lead: Lead) -> str:
    return f"/book/{booking_token(lead_uid=str(lead.uid))}/"


def _book(client: Client, lead: Lead, slot: datetime) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(_link(lead), {"slot": slot.isoformat()}).status_code == 302


def _score_history(lead: Lead) -> tuple[int, list[tuple[int, int, list[str]]]]:
    """The lead's score, and each move of it with its reasons, oldest first."""
    lead.refresh_from_db()
    changes = ScoreChange.objects.filter(lead=lead).order_by("at", "pk")
    return lead.score, [
        (change.old_score, change.new_score, [reason["text"] for reason in change.reasons])
        for change in changes
    ]


def test_it_counts_a_booking_cancelled_and_made_again_once(client: Client, lead: Lead) -> None:
    _book(client, lead, TEN)
    assert _score_history(lead) == (40, [(0, 40, ["1 booking +40"])])

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(_link(lead) + "cancel/").status_code == 200
    _book(client, lead, ELEVEN)

    assert list(Booking.objects.filter(lead=lead).values_list("starts_at", "status")) == [
        (TEN, "cancelled"),
        (ELEVEN, "booked"),
    ]
    assert _score_history(lead) == (40, [(0, 40, ["1 booking +40"])]), "no second +40"


def test_it_counts_a_rescheduled_booking_once(client: Client, lead: Lead) -> None:
    _book(client, lead, TEN)
    _book(client, lead, ELEVEN)  # a new slot from the same link moves the booking

    assert _score_history(lead) == (40, [(0, 40, ["1 booking +40"])]), "no second +40"


def test_an_install_seeded_before_the_cap_has_its_booking_rule_capped() -> None:
    seeded = ScoringRule.objects.create(
        name="Consultation booked", kind="engagement", activity_kind="booking_made", points=40
    )
    tuned = ScoringRule.objects.create(
        name="Second meeting",
        kind="engagement",
        activity_kind="booking_made",
        points=20,
        max_occurrences=3,
    )
    migration = importlib.import_module("scoring.migrations.0003_cap_consultation_booked")

    migration.cap_seeded_booking_rule(apps, None)

    seeded.refresh_from_db()
    tuned.refresh_from_db()
    assert (seeded.max_occurrences, tuned.max_occurrences) == (1, 3), "a marketer's cap stays"
