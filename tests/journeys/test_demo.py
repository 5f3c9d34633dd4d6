"""The demo journeys: their shape, a dry run through each path, and `seed_demo` running them."""

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from nurture.demo import (
    CONSULTATION_JOURNEY,
    DEFAULT_SEQUENCE,
    PRICING_JOURNEY,
    seed_default_sequence,
    seed_demo_journeys,
)
from nurture.models import Delivery, Edge, Enrollment, Node, Sequence, Trigger
from nurture.services import advancing
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def arrows(journey: Sequence) -> set[tuple[str, str, str]]:
    return {
        (edge.source.name, edge.port, edge.target.name)
        for edge in Edge.objects.filter(source__sequence=journey).select_related("source", "target")
    }


def dry_path(journey: Sequence, lead: Lead) -> list[str]:
    enrollment = Enrollment(
        pk=-1,
        lead=lead,
        sequence=journey,
        current_node_id=journey.start_node_id,
        node_entered_at=None,
        next_at=MONDAY,
        started_at=MONDAY,
        trigger="test",
    )
    trail = advancing.simulate(enrollments=[enrollment], now=MONDAY)[-1]
    return [step.node_name for step in trail]


def test_the_consultation_journey_has_the_issues_shape() -> None:
    page = LandingPageFactory(slug="free-consultation")
    consultation, pricing = seed_demo_journeys(page=page)

    assert consultation.name == CONSULTATION_JOURNEY and consultation.kind == "journey"
    (trigger,) = consultation.triggers.all()
    assert trigger.kind == Trigger.Kind.FORM
    journey_page = consultation.triggers.get().config["page"]
    assert journey_page != page.pk  # its own copy of the page: not mailed twice
    assert consultation.start_node.name == "Day 1: confirmation"
    assert consultation.start_node.step.transactional
    assert arrows(consultation) == {
        ("Day 1: confirmation", "next", "1 business day"),
        ("1 business day", "next", "Hot lead?"),
        ("Hot lead?", "c0", "Call the hot lead"),
        ("Hot lead?", "else", "Day 2 subject test"),
        ("Day 2 subject test", "v0", "Day 2 (A)"),
        ("Day 2 subject test", "v1", "Day 2 (B)"),
        ("Day 2 (A)", "next", "Clicked Day 2?"),
        ("Day 2 (B)", "next", "Clicked Day 2?"),
        ("Clicked Day 2?", "yes", "Case study"),
        ("Clicked Day 2?", "timeout", "Reminder"),
        ("Case study", "next", "2 days"),
        ("Reminder", "next", "2 days"),
        ("2 days", "next", "Day 7: booking prompt"),
        ("Day 7: booking prompt", "next", "Booked"),
    }
    nodes = {node.name: node for node in Node.objects.filter(sequence=consultation)}
    assert nodes["1 business day"].config == {"amount": 1, "unit": "business_days"}
    assert nodes["Hot lead?"].config["conditions"][0]["when"] == {
        "field": "temperature",
        "op": "is",
        "value": "hot",
    }
    assert nodes["Call the hot lead"].kind == Node.Kind.TASK
    assert "Call the hot lead" not in {edge.source.name for edge in Edge.objects.all()}  # stop
    split = nodes["Day 2 subject test"]
    assert split.kind == Node.Kind.SPLIT and split.config["auto_winner"] is True
    assert [v["weight"] for v in split.config["variants"]] == [50, 50]
    subjects = {nodes["Day 2 (A)"].step.subject, nodes["Day 2 (B)"].step.subject}
    assert len(subjects) == 2 and nodes["Day 2 (A)"].step.body == nodes["Day 2 (B)"].step.body
    assert nodes["Clicked Day 2?"].config == {
        "event": {"field": "clicked"},
        "timeout": {"amount": 3, "unit": "days"},
    }
    assert nodes["Day 7: booking prompt"].step.cta_url == "{{ booking_url }}"
    assert (nodes["Booked"].kind, nodes["Booked"].config) == (Node.Kind.GOAL, {"event": "booked"})

    assert pricing.name == PRICING_JOURNEY
    assert [(t.kind, t.config) for t in pricing.triggers.all()] == [
        (Trigger.Kind.PAGE_VIEW, {"url": "*/pricing*", "count": 2, "within_days": 7})
    ]
    assert arrows(pricing) == {
        ("Pricing questions?", "next", "Text about pricing"),
        ("Text about pricing", "next", "Call about pricing"),
    }
    sms = Node.objects.get(sequence=pricing, kind=Node.Kind.SMS)
    assert "{{ first_name }}" in sms.config["body"] and len(sms.config["body"]) <= 160

    # Run again: nothing new, and a marketer's edits stay.
    Node.objects.filter(pk=split.pk).update(name="Renamed")
    assert [j.pk for j in seed_demo_journeys(page=page)] == [consultation.pk, pricing.pk]
    assert Sequence.objects.filter(kind="journey").count() == 2
    assert Node.objects.filter(name="Renamed").exists()


def test_a_dry_run_takes_hot_and_cold_leads_down_their_branches() -> None:
    consultation, pricing = seed_demo_journeys(page=LandingPageFactory())
    hot, cold = LeadFactory(temperature="hot"), LeadFactory(temperature="cold")

    assert dry_path(consultation, hot) == [
        "Day 1: confirmation",
        "1 business day",
        "Hot lead?",
        "Call the hot lead",
        "Completed",
    ]
    cold_path = dry_path(consultation, cold)
    assert cold_path[:4] == [
        "Day 1: confirmation",
        "1 business day",
        "Hot lead?",
        "Day 2 subject test",
    ]
    assert cold_path[4] in {"Day 2 (A)", "Day 2 (B)"}
    # A dry run assumes the wait until clicked times out.
    assert cold_path[5:] == [
        "Clicked Day 2?",
        "Reminder",
        "2 days",
        "Day 7: booking prompt",
        "Booked",
        "Completed",
    ]
    assert dry_path(pricing, cold) == [
        "Pricing questions?",
        "Text about pricing",
        "Call about pricing",
        "Completed",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_prospect_on_the_journey_page_gets_the_journeys_confirmation_only(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CAPTURE_MIN_FILL_SECONDS = 0
    page = LandingPageFactory(slug="free-consultation")
    seed_default_sequence(page=page)
    consultation, _ = seed_demo_journeys(page=page)
    journey_page = consultation.triggers.get().config["page"]
    slug = f"{page.slug}-journey"

    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("capture:landing_page", kwargs={"slug": slug}),
            valid_form_data(email="grace@example.com", first_name="Grace"),
        )
    assert response.status_code in (200, 302)
    lead = Lead.objects.get(email="grace@example.com")
    (enrollment,) = Enrollment.objects.filter(lead=lead)
    assert enrollment.sequence == consultation
    assert enrollment.sequence.triggers.get().config["page"] == journey_page
    assert [m.subject for m in mail.outbox] == ["We have your request, Grace"]
    assert not Enrollment.objects.filter(sequence__name=DEFAULT_SEQUENCE).exists()


@pytest.mark.django_db(transaction=True)
def test_seed_demo_creates_the_journeys_and_pricing_views_start_one(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    # A Wednesday morning in Madrid (Maria's zone): inside the journeys' 9–17 window, so the
    # pricing email goes now whatever the hour the suite runs at.
    with (
        time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=UTC), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("seed_demo", stdout=StringIO())

    names = set(Sequence.objects.values_list("name", "kind"))
    assert {
        (DEFAULT_SEQUENCE, "days"),
        (CONSULTATION_JOURNEY, "journey"),
        (PRICING_JOURNEY, "journey"),
    } <= names
    # Maria and Sam viewed the pricing page two and three times: both entered. Maria's
    # second view made her hot, and the journey hands leads to sales: she left it at once.
    entered = Enrollment.objects.filter(sequence__name=PRICING_JOURNEY)
    places = entered.values_list("lead__first_name", "state", "exit_reason")
    assert sorted(places) == [("Maria", "exited", "handed_to_sales"), ("Sam", "active", "")]
    subjects = [m.subject for m in mail.outbox]
    assert not [s for s in subjects if s.startswith("Questions about pricing")], subjects
    # Sam's is on its way, on the first day the frequency cap leaves free (his consultation
    # journey's emails come first); Maria has none.
    pricing = Delivery.objects.filter(enrollment__sequence__name=PRICING_JOURNEY)
    assert list(pricing.values_list("enrollment__lead__first_name", "status")) == [
        ("Sam", "scheduled")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert Sequence.objects.filter(name=CONSULTATION_JOURNEY).count() == 1
    assert entered.count() == 2
