"""A lead's page: contact, reasons, the merged timeline, the sequence position."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capture.models import Activity, Lead, Submission
from nurture.models import Delivery
from nurture.services import advancing, journeys
from nurture.services.scheduling import enroll_lead
from nurture.services.triggers import enter_journey
from sales.models import Booking, LeadChange, Note, RepProfile, Task
from sales.selectors import lead_workspace
from sales.services.tasks import complete_task
from scoring.models import ScoreChange
from tests.factories import LandingPageFactory, playbook_sequence, sales_rep
from tests.journeys.builders import email, playbook, wait
from tests.sales.support import make_activity, make_lead, make_rep

pytestmark = pytest.mark.django_db
# Monday 2 March 2026.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _at(minutes_ago: int) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def _set_time(model: Any, pk: int, field: str, at: datetime) -> None:
    model.objects.filter(pk=pk).update(**{field: at})


def _busy_lead(*, activities: int = 1) -> Lead:
    """A lead with one of everything the timeline merges, each at a known time."""
    lead = make_lead(
        first_name="Maria",
        last_name="Gonzalez",
        company="Northwind",
        time_zone="Europe/Madrid",
        answers={"When?": "Within a month"},
        created_at=_at(600),
    )
    page = LandingPageFactory(title="Free consultation")
    submission = Submission.objects.create(
        lead=lead, landing_page=page, utm_source="google", utm_medium="cpc", utm_campaign="spring"
    )
    _set_time(Submission, submission.pk, "created_at", _at(600))
    make_activity(lead, Activity.Kind.FORM_SUBMITTED, _at(600), landing_page=page.slug)
    with time_machine.travel(_at(590), tick=False):
        enroll_lead(lead=lead, sequence=playbook_sequence(name="Playbook"))
    day1 = Delivery.objects.get(enrollment__lead=lead, step__day=1)
    Delivery.objects.filter(pk=day1.pk).update(status="sent", sent_at=_at(589))
    for index in range(activities):
        make_activity(lead, Activity.Kind.EMAIL_OPENED, _at(500 - index % 50), delivery_id=day1.pk)
    make_activity(lead, Activity.Kind.PAGE_VIEWED, _at(400), url="https://site.example/pricing")
    change = ScoreChange.objects.create(
        lead=lead,
        old_score=40,
        new_score=75,
        old_temperature="warm",
        new_temperature="hot",
        cause="activity",
        reasons=[{"text": "Pricing page view (+10)"}, {"text": "Director title (+15)"}],
    )
    _set_time(ScoreChange, change.pk, "at", _at(399))
    early = ScoreChange.objects.create(
        lead=lead,
        old_score=0,
        new_score=40,
        old_temperature="cold",
        new_temperature="warm",
        cause="capture",
    )
    _set_time(ScoreChange, early.pk, "at", _at(600))
    rep = make_rep("ann")
    owner_change = LeadChange.objects.create(
        lead=lead, actor=rep, field="owner", new_value="ann", reason="Claimed"
    )
    _set_time(LeadChange, owner_change.pk, "at", _at(300))
    note = Note.objects.create(lead=lead, author=rep, kind="call", body="Spoke, keen")
    _set_time(Note, note.pk, "created_at", _at(200))
    booking = Booking.objects.create(
        lead=lead,
        rep=RepProfile.objects.get(user=rep),
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, minutes=30),
    )
    _set_time(Booking, booking.pk, "created_at", _at(100))
    return Lead.objects.get(pk=lead.pk)


def test_the_timeline_merges_every_source_newest_first() -> None:
    lead = _busy_lead()
    with timezone.override(UTC):
        timeline = lead_workspace(lead=lead).timeline
    got = [(entry.kind, entry.title) for entry in timeline]
    assert got == [
        ("booking", "Booked a consultation"),
        ("call", "Call logged"),
        ("owner", "Owner nobody → ann"),
        ("score", "Score 40 → 75 · Warm → Hot"),
        ("activity", "Viewed /pricing"),
        ("activity", "Opened Day 1 “Day 1 for Maria”"),
        ("email", "Sent Day 1 “Day 1 for Maria”"),
        ("submission", "Submitted the form on “Free consultation”"),
        ("score", "Score 0 → 40 · Cold → Warm"),
    ]
    assert [entry.at for entry in timeline] == sorted((e.at for e in timeline), reverse=True)
    assert timeline[3].detail == "Pricing page view (+10); Director title (+15)"
    assert timeline[1].actor == "ann" and timeline[1].detail == "Spoke, keen"
    assert timeline[-2].detail == "Google Ads · spring"


def test_custom_events_are_on_the_timeline_but_a_cancelled_bookings_own_row_is_not() -> None:
    lead = make_lead()
    make_activity(lead, Activity.Kind.CUSTOM, _at(30), name="webinar_registered")
    make_activity(lead, Activity.Kind.CUSTOM, _at(20), event="booking_cancelled")
    make_activity(lead, Activity.Kind.CUSTOM, _at(10), event="trial_started")
    with timezone.override(UTC):
        timeline = lead_workspace(lead=lead).timeline
    custom = [entry for entry in timeline if entry.kind == "activity"]
    # The cancellation is shown through its booking; every other custom event is the lead's.
    assert len(custom) == 2, [entry.title for entry in timeline]
    assert [entry.at for entry in custom] == [_at(10), _at(30)]


def test_the_page_shows_contact_answers_reasons_chart_and_sequence(client: Client) -> None:
    lead = _busy_lead()
    client.force_login(sales_rep())
    response = client.get(reverse("sales:lead", args=[lead.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Maria Gonzalez",
        "Northwind",
        "Within a month",
        "Pricing page view (+10)",
        "Europe/Madrid",
        "Stop sequence",
        "/static/vendor/chartjs-4.6.1/chart.umd.js",
    ):
        assert text in html, text
    points = re.search(r'<script id="score-history" type="application/json">(.*?)</script>', html)
    assert points and '"score": 40' in points.group(1) and '"score": 75' in points.group(1)
    # Enrolled Mon 02:10 UTC (03:10 in Madrid), before the 09:00–17:00 window.
    assert "Day 1 sent, Day 2 due Tue 3 Mar 09:00 in their time zone (Europe/Madrid)" in html


def test_times_are_shown_in_the_viewers_zone(client: Client) -> None:
    lead = _busy_lead()
    rep = make_rep("tokyo", time_zone="Asia/Tokyo")
    client.force_login(rep)
    html = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    # The call at 08:40 UTC is 17:40 in Tokyo.
    assert "Mon 2 Mar 2026 17:40" in html


@pytest.mark.parametrize("activities", [1, 120])
def test_the_query_count_does_not_grow_with_the_history(
    client: Client, django_assert_max_num_queries: Any, activities: int
) -> None:
    lead = _busy_lead(activities=activities)
    for index in range(activities // 10):
        Note.objects.create(lead=lead, author=lead.changes.first().actor, body=f"n{index}")
    client.force_login(sales_rep())
    # session, user, permissions (2), rep zone, lead, 9 timeline sources (completed tasks
    # among them), tasks (open, done), reps, the lead's texts (SMS); topics with the lead's
    # state, its suppression, its consent log; its upcoming meetings
    with django_assert_max_num_queries(23):
        assert client.get(reverse("sales:lead", args=[lead.pk])).status_code == 200


def test_a_lead_without_history_renders(client: Client) -> None:
    lead = make_lead()
    client.force_login(sales_rep())
    html = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert "Nothing yet." in html and "Not in any sequence." in html


def test_a_lead_in_a_journey_shows_its_last_email_by_subject(client: Client) -> None:
    """A journey's emails have no day: the lead page names them by subject (it once tried
    `max()` over their missing days and answered 500 once one was sent)."""
    lead = make_lead(email="journey@example.com", time_zone="Europe/Madrid")
    enrollment = enter_journey(lead=lead, journey=playbook())
    assert enrollment is not None
    advancing.advance(enrollment_ids=[enrollment.pk])  # its first node, the confirmation
    assert Delivery.objects.filter(enrollment=enrollment).count() == 1
    Delivery.objects.filter(enrollment=enrollment).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    client.force_login(sales_rep())
    response = client.get(reverse("sales:lead", args=[lead.pk]))
    assert response.status_code == 200
    assert "“Thanks, we got your request” sent" in response.content.decode()


def test_a_journey_email_reads_as_the_lead_saw_it_in_sequences_and_timeline(
    client: Client,
) -> None:
    lead = make_lead(first_name="Ada", company="Analytical Engines", time_zone="UTC")
    journey = journeys.build(
        name="Pricing journey",
        nodes={
            "ask": email("Questions about pricing, {{ first_name }}?", name="Pricing follow-up"),
            "later": wait(1, "days"),
            "next": email("More for {{ company }}", name="Case study"),
        },
        edges=[("ask", "next", "later"), ("later", "next", "next")],
        start="ask",
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )
    enrollment = enter_journey(lead=lead, journey=journey)
    assert enrollment is not None
    advancing.advance(enrollment_ids=[enrollment.pk])
    Delivery.objects.filter(enrollment=enrollment).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    client.force_login(sales_rep())

    html = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()

    assert "“Questions about pricing, Ada?” sent" in html
    assert "Sent Pricing follow-up “Questions about pricing, Ada?”" in html
    assert "{{" not in html and "Day None" not in html


def test_completed_tasks_are_on_the_timeline_with_who_and_how() -> None:
    ann = make_rep("ann")
    lead = make_lead()
    call = Task.objects.create(
        lead=lead, owner=ann, title="Call within 5 minutes", due_at=_at(60), source="handoff"
    )
    follow_up = Task.objects.create(lead=lead, owner=ann, title="Send the deck", due_at=_at(30))
    Task.objects.create(lead=lead, owner=ann, title="Still to do", due_at=_at(-60))
    complete_task(task_id=follow_up.pk, actor=ann, now=_at(20))
    complete_task(task_id=call.pk, actor=ann, outcome="connected", note="Keen", now=_at(10))

    with timezone.override(UTC):
        timeline = lead_workspace(lead=lead).timeline

    tasks = [(e.title, e.detail, e.actor, e.at) for e in timeline if e.kind == "task"]
    assert tasks == [
        ("Task done: Call within 5 minutes", "Connected", "ann", _at(10)),
        ("Task done: Send the deck", "", "ann", _at(20)),
    ]
