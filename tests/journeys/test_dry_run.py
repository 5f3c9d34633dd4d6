"""Dry run: a journey run for one lead or a sample of real leads, with nothing written or sent."""

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Node, PathStep, SmsMessage, Step, Suppression
from nurture.services import dry_run, journeys
from tests.factories import LeadFactory
from tests.journeys.builders import email, node, playbook

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 05:00 in New York (EST)


def _office_hours_playbook() -> Any:
    return playbook(window_start_hour=9, window_end_hour=17, weekdays=[0, 1, 2, 3, 4])


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Delivery, PathStep, Enrollment, SmsMessage)
    }


def test_it_shows_one_leads_path_and_send_dates_in_its_zone_and_utc() -> None:
    journey = _office_hours_playbook()
    lead = LeadFactory(email="ada@example.com", time_zone="America/New_York")

    with time_machine.travel(MONDAY, tick=False):
        result = dry_run.dry_run(journey=journey, leads=[lead])

    (run,) = result.runs
    assert [step.node_name for step in run.steps] == [
        "Thanks, we got your request",
        "Wait",
        "Hot?",
        "Three ways to grow",
        "Clicked?",
        "In case you missed it",
        "Booked",
        "Completed",
    ]
    assert run.steps[3].via == "branch: otherwise"
    assert "assumed: no “clicked any email” in time" in run.steps[5].via
    # The confirmation goes at once (05:00 local); the others wait for 09:00 New York.
    assert [(m.name, m.at, m.local.strftime("%a %H:%M")) for m in run.messages] == [
        ("Thanks, we got your request", MONDAY, "Mon 05:00"),
        ("Three ways to grow", datetime(2026, 3, 3, 14, 0, tzinfo=UTC), "Tue 09:00"),
        ("In case you missed it", datetime(2026, 3, 6, 14, 0, tzinfo=UTC), "Fri 09:00"),
    ]
    assert result.first_send_from == result.first_send_to == MONDAY
    assert result.reached[journey.start_node_id] == 1


def test_a_thousand_leads_run_quickly_and_nothing_is_written_or_sent() -> None:
    journey = _office_hours_playbook()
    zones = ["UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo"]
    Lead.objects.bulk_create(
        Lead(
            email=f"lead{n}@example.com",
            time_zone=zones[n % 4],
            temperature=Lead.Temperature.HOT if n % 10 == 0 else Lead.Temperature.COLD,
        )
        for n in range(1000)
    )
    # Never in a sample: a suppressed address and an erased lead.
    LeadFactory(email="gone@example.com")
    Suppression.objects.create(email="gone@example.com", reason=Suppression.Reason.BOUNCED)
    LeadFactory(email="erased-abc@erased.invalid")
    before = _counts()

    started = time.perf_counter()
    with time_machine.travel(MONDAY, tick=False):
        leads = list(dry_run.mailable_sample(limit=1000))
        result = dry_run.dry_run(journey=journey, leads=leads)
    elapsed = time.perf_counter() - started

    print(f"dry run of 1,000 leads: {elapsed:.3f} s (simulation {result.seconds:.3f} s)")
    assert elapsed < 5
    assert len(result.runs) == 1000
    assert {run.lead.email for run in result.runs}.isdisjoint(
        {"gone@example.com", "erased-abc@erased.invalid"}
    )
    paths = dict(result.paths)
    assert paths["Thanks, we got your request → Wait → Hot? → Call the lead → Completed"] == 100
    assert sum(paths.values()) == 1000
    task = journey.nodes.get(name="Call the lead")
    assert result.reached[task.pk] == 100
    assert result.reached[journey.nodes.get(name="Three ways to grow").pk] == 900
    # Tokyo's 19:00 is after its window: its first email still goes at once (transactional).
    assert result.first_send_from == result.first_send_to == MONDAY
    assert _counts() == before
    assert mail.outbox == []


def test_the_admin_page_dry_runs_one_lead_by_email(admin_client: Any) -> None:
    journey = _office_hours_playbook()
    LeadFactory(email="ada@example.com", time_zone="America/New_York")
    before = _counts()
    url = f"/admin/nurture/journey/{journey.pk}/dry-run/"

    with time_machine.travel(MONDAY, tick=False):
        response = admin_client.get(url, {"mode": "lead", "email": "ADA@example.com"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "ada@example.com" in page
    assert (
        "Three ways to grow: Tue 2026-03-03 09:00 America/New_York; Tue 2026-03-03 14:00 UTC"
        in page
    )
    assert "branch: otherwise" in page
    assert _counts() == before
    assert mail.outbox == []


def test_the_admin_page_dry_runs_a_sample(admin_client: Any) -> None:
    journey = _office_hours_playbook()
    for n in range(3):
        LeadFactory(time_zone="UTC", email=f"s{n}@example.com")
    url = f"/admin/nurture/journey/{journey.pk}/dry-run/"
    with time_machine.travel(MONDAY, tick=False):
        response = admin_client.get(url, {"mode": "sample", "size": "2"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 leads, simulated from 2026-03-02 10:00 UTC" in page
    assert page.count('<th scope="row">s') == 2
    assert "Thanks, we got your request → Wait → Hot? → Three ways to grow" in page


NO_LEAD = "No lead that may be mailed has the address"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mode": "lead", "email": "nobody@example.com"}, NO_LEAD),
        ({"mode": "lead", "email": "gone@example.com"}, NO_LEAD),
        ({"mode": "lead", "email": ""}, "Enter the email address of the lead"),
        ({"mode": "sample", "size": "5000"}, "The sample size is a whole number from 1 to 1000"),
        ({"mode": "sample", "size": "ten"}, "The sample size is a whole number from 1 to 1000"),
        ({"mode": "other"}, "Choose one lead or a sample"),
    ],
)
def test_bad_input_is_a_400_with_a_message(
    admin_client: Any, query: dict[str, str], message: str
) -> None:
    journey = _office_hours_playbook()
    LeadFactory(email="gone@example.com")
    Suppression.objects.create(email="gone@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    response = admin_client.get(f"/admin/nurture/journey/{journey.pk}/dry-run/", query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_form_shows_without_running_anything(admin_client: Any) -> None:
    journey = _office_hours_playbook()
    response = admin_client.get(f"/admin/nurture/journey/{journey.pk}/dry-run/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="mode"' in page and "Nothing is written and nothing is sent" in page
    assert "Paths taken" not in page


def test_a_marketer_without_journey_permissions_is_refused(client: Any) -> None:
    journey = _office_hours_playbook()
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    response = client.get(f"/admin/nurture/journey/{journey.pk}/dry-run/")
    assert response.status_code == 403


def test_a_partial_address_offers_the_matching_leads(admin_client: Any) -> None:
    journey = _office_hours_playbook()
    LeadFactory(email="ada@example.com")
    LeadFactory(email="adam@example.com")
    LeadFactory(email="bob@example.com")
    response = admin_client.get(
        f"/admin/nurture/journey/{journey.pk}/dry-run/", {"mode": "lead", "email": "ada"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<a href="?mode=lead&amp;email=ada%40example.com">ada@example.com</a>' in page
    assert "adam@example.com" in page and "bob@example.com" not in page


def test_a_paused_journey_is_dry_run_before_publishing_and_a_thousand_render_quickly(
    admin_client: Any,
) -> None:
    journey = playbook(status="paused")
    Lead.objects.bulk_create(
        Lead(email=f"lead{n}@example.com", time_zone="Europe/Paris") for n in range(1000)
    )
    before = _counts()
    started = time.perf_counter()
    with time_machine.travel(MONDAY, tick=False):
        response = admin_client.get(
            f"/admin/nurture/journey/{journey.pk}/dry-run/", {"mode": "sample", "size": "1000"}
        )
    elapsed = time.perf_counter() - started
    print(f"dry-run page for 1,000 leads: {elapsed:.3f} s")
    assert response.status_code == 200
    page = response.content.decode()
    assert "it is paused: nobody enters it until it is published" in page
    assert "1000 leads, simulated from" in page
    assert page.count("Europe/Paris</small>") == 1000
    assert elapsed < 10
    assert _counts() == before
    assert mail.outbox == []


def test_texts_are_listed_and_switched_off_emails_are_not() -> None:
    journey = journeys.build(
        name="Pricing",
        start="hello",
        nodes={
            "hello": email("Hello", transactional=True),
            "off": email("Switched off"),
            "text": node(Node.Kind.SMS, "Text", body="Hi {{ first_name }}"),
            "goal": node(Node.Kind.GOAL, "Booked", event="booked"),
        },
        edges=[("hello", "next", "off"), ("off", "next", "text"), ("text", "next", "goal")],
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )
    Step.objects.filter(node__name="Switched off").update(is_active=False)
    lead = LeadFactory(time_zone="Asia/Tokyo")
    with time_machine.travel(MONDAY, tick=False):
        result = dry_run.dry_run(journey=journey, leads=[lead])
    (run,) = result.runs
    assert [(m.name, m.kind, m.local.strftime("%H:%M")) for m in run.messages] == [
        ("Hello", "email", "19:00"),
        ("Text", "sms", "19:00"),
    ]
    assert "would text the lead" in run.steps[3].via
    assert SmsMessage.objects.count() == 0
