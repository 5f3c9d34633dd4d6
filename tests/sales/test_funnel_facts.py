"""The funnel facts and their hourly rollup equal a recount from the source tables, whatever
moved the leads (services, direct writes the way bulk loaders and other apps make them,
deletes); the metrics read from the rollup equal the metrics read from the facts."""

import contextlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.models import Campaign, Lead, Submission
from nurture.models import Delivery, Enrollment
from nurture.services.scheduling import enroll_lead
from sales.models import (
    Booking,
    FunnelFact,
    FunnelHour,
    FunnelRecount,
    LeadChange,
    Note,
    RepProfile,
)
from sales.selectors import funnel_metrics
from sales.selectors import metrics as metrics_module
from sales.services.funnel import FACT_FIELDS, recount_pending
from sales.services.leads import ActionRefused, add_note, move_stage
from scoring.models import ScoreChange
from tests.factories import CampaignFactory, LandingPageFactory, playbook_sequence
from tests.sales.support import make_lead, make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 3, 30, tzinfo=UTC)
SOURCES = ["", "google", "linkedin"]
MEDIA = ["", "cpc", "email"]
TEMPERATURES = ["cold", "warm", "hot"]
WARM_HOT = ("warm", "hot")


class _Rollback(Exception):
    pass


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _expected_facts() -> dict[int, dict[str, Any]]:
    """Every lead's facts worked out in Python, row by row, from the source tables."""
    facts = {}
    for lead in Lead.objects.all():
        submissions = sorted(
            Submission.objects.filter(lead=lead), key=lambda s: (s.created_at, s.pk)
        )
        changes = list(ScoreChange.objects.filter(lead=lead))
        emails = [
            d.sent_at
            for d in Delivery.objects.filter(enrollment__lead=lead).select_related("step")
            if d.step.day == 1 and d.sent_at is not None
        ]
        calls = [n.created_at for n in Note.objects.filter(lead=lead, kind="call")]
        contacted = [
            c.at
            for c in LeadChange.objects.filter(lead=lead, field="stage")
            if c.new_value == "contacted"
        ]
        first_call, first_contacted = min(calls, default=None), min(contacted, default=None)
        contacts = [at for at in (first_call, first_contacted) if at is not None]
        facts[lead.pk] = {
            "created_at": lead.created_at,
            "campaign_id": lead.campaign_id,
            "source": lead.source,
            "medium": submissions[0].utm_medium if submissions else None,
            "nurtured": Enrollment.objects.filter(lead=lead).exists(),
            "quality": lead.temperature in WARM_HOT
            or any(c.new_temperature in WARM_HOT for c in changes),
            "hot": lead.temperature == "hot" or any(c.new_temperature == "hot" for c in changes),
            "booked": Booking.objects.filter(lead=lead, status="booked").exists(),
            "won": lead.stage == "won",
            "first_email_at": min(emails, default=None),
            "first_contact_at": min(contacts, default=None),
        }
    return facts


def _stored_facts() -> dict[int, dict[str, Any]]:
    return {
        row["lead_id"]: {name: row[name] for name in FACT_FIELDS}
        for row in FunnelFact.objects.values("lead_id", *FACT_FIELDS)
    }


def _expected_hours(facts: dict[int, dict[str, Any]]) -> dict[tuple[Any, ...], tuple[int, ...]]:
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * 6)
    for fact in facts.values():
        hour = fact["created_at"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        cell = sums[(hour, fact["campaign_id"], fact["source"], fact["medium"])]
        for index, name in enumerate(("nurtured", "quality", "hot", "booked", "won"), 1):
            cell[index] += fact[name]
        cell[0] += 1
    return {key: tuple(counts) for key, counts in sums.items()}


def _stored_hours() -> dict[tuple[Any, ...], tuple[int, ...]]:
    names = ("leads", "nurtured", "quality", "hot", "booked", "won")
    return {
        (row["hour"], row["campaign_id"], row["source"], row["medium"]): counts
        for row in FunnelHour.objects.values("hour", "campaign_id", "source", "medium", *names)
        if any(counts := tuple(row[name] for name in names))
    }


def _assert_recounted() -> None:
    recount_pending()
    assert not FunnelRecount.objects.exists()
    expected = _expected_facts()
    assert _stored_facts() == expected
    assert _stored_hours() == _expected_hours(expected)


MOVES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "lead",
                "submit",
                "score",
                "temperature",
                "enroll",
                "email",
                "book",
                "cancel",
                "call",
                "contacted",
                "won",
                "recreate",
                "delete",
                "drop_campaign",
                "recount",
            ]
        ),
        st.integers(0, 5),  # which lead (modulo those there are)
        st.integers(0, 47),  # hours, minutes or a choice, as the move needs
    ),
    min_size=1,
    max_size=25,
)


def _move(kind: str, pick: int, n: int, *, leads: list[Lead], world: dict[str, Any]) -> None:
    if kind == "lead" or not leads:
        campaign = world["campaigns"][n % 3]
        lead = make_lead(
            campaign=campaign,
            source=SOURCES[n % 3],
            temperature=TEMPERATURES[pick % 3],
            created_at=DAY + timedelta(hours=n, minutes=pick * 7),
        )
        leads.append(lead)
        return
    lead = leads[pick % len(leads)]
    if not Lead.objects.filter(pk=lead.pk).exists():
        return
    lead.refresh_from_db()
    at = lead.created_at + timedelta(minutes=n + 1)
    if kind == "submit":
        submission = Submission.objects.create(
            lead=lead, landing_page=world["page"], utm_medium=MEDIA[n % 3]
        )
        Submission.objects.filter(pk=submission.pk).update(created_at=at)
    elif kind == "score":
        ScoreChange.objects.create(
            lead=lead,
            old_score=0,
            new_score=n,
            old_temperature="cold",
            new_temperature=TEMPERATURES[n % 3],
            cause="activity",
            at=at,
        )
    elif kind == "temperature":
        Lead.objects.filter(pk=lead.pk).update(temperature=TEMPERATURES[n % 3])
    elif kind == "enroll" and not Enrollment.objects.filter(lead=lead).exists():
        enroll_lead(lead=lead, sequence=world["sequence"], now=lead.created_at)
    elif kind == "email":
        Delivery.objects.filter(enrollment__lead=lead, step__day=n % 2 + 1).update(
            status="sent", sent_at=at
        )
    elif kind == "book":
        Booking.objects.filter(lead=lead, status="booked").update(status="cancelled")
        starts = DAY + timedelta(days=3 + lead.pk, hours=n)  # one slot per lead
        Booking.objects.create(
            lead=lead, rep=world["profile"], starts_at=starts, ends_at=starts + timedelta(hours=1)
        )
    elif kind == "cancel":
        Booking.objects.filter(lead=lead, status="booked").update(status="cancelled")
    elif kind == "call":
        note = add_note(
            lead_id=lead.pk, author=world["rep"], body="Called", kind="call", outcome="connected"
        )
        Note.objects.filter(pk=note.pk).update(created_at=at)
    elif kind in ("contacted", "won"):
        with contextlib.suppress(ActionRefused):
            move_stage(lead_id=lead.pk, actor=world["rep"], stage=kind)
    elif kind == "recreate":  # a loader correcting the capture time moves the lead's hour
        Lead.objects.filter(pk=lead.pk).update(created_at=DAY + timedelta(hours=n))
    elif kind == "delete":
        lead.delete()
    elif kind == "drop_campaign" and lead.campaign_id is not None:
        Campaign.objects.filter(pk=lead.campaign_id).delete()
    elif kind == "recount":
        recount_pending()


def _metrics_both_ways(monkeypatch: pytest.MonkeyPatch, zone: ZoneInfo) -> None:
    start = datetime(2026, 3, 29, tzinfo=zone)
    end = datetime(2026, 4, 2, tzinfo=zone)
    from_rollup = funnel_metrics(start=start, end=end, zone=zone)
    with monkeypatch.context() as patch:
        patch.setattr(metrics_module, "_rollup_covers", lambda **kwargs: False)
        from_facts = funnel_metrics(start=start, end=end, zone=zone)
    assert from_rollup.total == from_facts.total
    assert from_rollup.campaigns == from_facts.campaigns
    assert from_rollup.sources == from_facts.sources
    series = {s["label"]: s["data"] for s in from_rollup.daily["series"]}
    assert series == {s["label"]: s["data"] for s in from_facts.daily["series"]}
    assert (
        from_rollup.total.leads
        == Lead.objects.filter(created_at__gte=start, created_at__lt=end).count()
    )


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=MOVES)
def test_the_facts_and_the_rollup_equal_a_recount_after_any_moves(
    moves: list[tuple[str, int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        with transaction.atomic():
            rep = make_rep("ann")
            world = {
                "rep": rep,
                "profile": RepProfile.objects.get(user=rep),
                "campaigns": [CampaignFactory(), CampaignFactory(), None],
                "page": LandingPageFactory(),
                "sequence": playbook_sequence(),
            }
            leads: list[Lead] = []
            for kind, pick, n in moves:
                _move(kind, pick, n, leads=leads, world=world)
            _assert_recounted()
            _metrics_both_ways(monkeypatch, ZoneInfo("Europe/Paris"))
            raise _Rollback
    except _Rollback:
        pass


def test_the_day_1_email_counts_without_any_signal() -> None:
    """Nothing announces a send: the delivery's own trigger notes the lead."""
    lead = make_lead(created_at=DAY)
    enroll_lead(lead=lead, sequence=playbook_sequence(), now=DAY)
    recount_pending()
    assert FunnelFact.objects.get(lead=lead).first_email_at is None
    Delivery.objects.filter(enrollment__lead=lead, step__day=1).update(
        status="sent", sent_at=DAY + timedelta(seconds=42)
    )
    assert FunnelRecount.objects.filter(lead_id=lead.pk).exists()
    metrics = funnel_metrics(start=DAY, end=DAY + timedelta(days=1), zone=UTC)  # type: ignore[arg-type]
    assert metrics.total.speed_to_lead == timedelta(seconds=42)
    assert not FunnelRecount.objects.exists()


def test_a_score_or_activity_time_moving_costs_no_recount() -> None:
    lead = make_lead(created_at=DAY)
    recount_pending()
    Lead.objects.filter(pk=lead.pk).update(score=40, last_activity_at=NOW)
    assert not FunnelRecount.objects.exists()


def test_the_rebuild_command_restores_lost_facts() -> None:
    campaign = CampaignFactory()
    for hour in range(3):
        created_at = DAY.replace(hour=hour)
        make_lead(campaign=campaign, source="google", stage="won", created_at=created_at)
    recount_pending()
    expected = (_stored_facts(), _stored_hours())
    FunnelFact.objects.all().delete()
    assert _stored_hours() == {}
    call_command("rebuild_funnel_facts", "--all", stdout=None)
    assert (_stored_facts(), _stored_hours()) == expected
    assert _stored_hours()[(DAY, campaign.pk, "google", None)] == (1, 0, 0, 0, 0, 1)


def test_zones_off_the_hour_read_the_facts() -> None:
    kolkata, paris = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Paris")
    start = datetime(2026, 3, 1, tzinfo=kolkata)
    assert not metrics_module._rollup_covers(
        start=start, end=start + timedelta(days=30), zone=kolkata
    )
    start = datetime(2026, 3, 1, tzinfo=paris)  # across the switch to summer time
    assert metrics_module._rollup_covers(start=start, end=start + timedelta(days=30), zone=paris)
    lead = make_lead(created_at=datetime(2026, 3, 30, 18, 45, tzinfo=UTC))  # 00:15 in Kolkata
    metrics = funnel_metrics(
        start=datetime(2026, 3, 31, tzinfo=kolkata),
        end=datetime(2026, 4, 1, tzinfo=kolkata),
        zone=kolkata,
    )
    assert metrics.total.leads == 1 and lead.pk
