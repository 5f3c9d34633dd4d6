import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django_celery_beat.models import PeriodicTask

from capture.models import Activity, Lead
from scoring import tasks
from scoring.demo import NIGHTLY_TASK_NAME, seed_default_scoring
from scoring.models import ScoreChange, ScoringRule
from scoring.services import load_rules, rescore_all_leads, score_lead
from scoring.services.bulk import _decay_lead_by_lead
from scoring.signals import temperature_changed
from tests.factories import ActivityFactory, EngagementRuleFactory, FitRuleFactory, LeadFactory
from tests.scoring.conftest import NOW

pytestmark = pytest.mark.django_db


def hot_clicker(**fields: Any) -> Lead:
    """A lead that scored 80 (hot) for a booking made at NOW."""
    lead = LeadFactory(**fields)
    ActivityFactory(lead=lead, kind=Activity.Kind.BOOKING_MADE, occurred_at=NOW)
    with time_machine.travel(NOW, tick=False):
        score_lead(lead_id=lead.pk)
    lead.refresh_from_db()
    return lead


@pytest.fixture
def booking_rule(db: None) -> ScoringRule:
    return EngagementRuleFactory(activity_kind=Activity.Kind.BOOKING_MADE, points=80)


def test_engagement_fades_overnight_across_the_thresholds(booking_rule: ScoringRule) -> None:
    lead = hot_clicker()
    assert (lead.score, lead.temperature) == (80, "hot")

    with time_machine.travel(NOW + timedelta(days=14), tick=False):
        result = rescore_all_leads()

    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (40, "warm")
    assert (result.rescored, result.temperature_changes) == (1, 1)
    change = ScoreChange.objects.filter(cause=ScoreChange.Cause.DECAY).get()
    assert (change.old_score, change.new_score) == (80, 40)
    assert (change.old_temperature, change.new_temperature) == ("hot", "warm")
    assert change.reasons[0]["text"] == "Engagement points decayed: 80 → 40"
    assert change.at == NOW + timedelta(days=14)


def test_it_touches_only_leads_whose_score_moved(booking_rule: ScoringRule) -> None:
    lead = hot_clicker()
    quiet = LeadFactory()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        result = rescore_all_leads()
    assert result.rescored == 1  # the quiet lead stays at 0, cold: not written
    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (76, "hot")  # 80 · 0.5^(1/14) = 76.1
    assert not ScoreChange.objects.filter(cause="decay").exists(), "no temperature moved"
    quiet.refresh_from_db()
    assert (quiet.score, quiet.temperature) == (0, "cold")


def test_it_catches_up_with_rules_and_moves_new_hot_leads_to_sales(frozen: Any) -> None:
    waiting = LeadFactory(job_title="Director", stage="nurturing")
    booked = LeadFactory(job_title="Director", stage="booked")
    FitRuleFactory(value="director", points=70)

    rescore_all_leads(cause=ScoreChange.Cause.RULES)

    waiting.refresh_from_db()
    booked.refresh_from_db()
    assert (waiting.temperature, waiting.stage) == ("hot", "sales_ready")
    assert (booked.temperature, booked.stage) == ("hot", "booked")
    assert set(ScoreChange.objects.values_list("cause", flat=True)) == {"rules"}


def test_temperature_changes_are_announced_after_commit(
    booking_rule: ScoringRule, django_capture_on_commit_callbacks: Any
) -> None:
    lead = hot_clicker()
    received: list[tuple[int, str, str]] = []

    def receiver(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
        received.append((lead_id, old, new))

    temperature_changed.connect(receiver)
    try:
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            time_machine.travel(NOW + timedelta(days=60), tick=False),
        ):
            rescore_all_leads()
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        temperature_changed.disconnect(receiver)
    assert received == [(lead.pk, "hot", "cold")]


@pytest.mark.django_db(transaction=True)
def test_a_lead_rescored_while_the_job_runs_keeps_the_newer_result() -> None:
    EngagementRuleFactory(activity_kind=Activity.Kind.BOOKING_MADE, points=80)
    lead = hot_clicker()
    rival = connections.create_connection("default")
    results: list[Any] = []

    def run_job() -> None:
        try:
            results.append(rescore_all_leads(now=NOW + timedelta(days=14)))
        finally:
            connection.close()

    try:
        with rival.cursor() as cursor:
            # A score_lead in flight: it holds the row and will commit a newer score.
            cursor.execute("BEGIN")
            cursor.execute("UPDATE capture_lead SET score = 99 WHERE id = %s", [lead.pk])
            job = threading.Thread(target=run_job)
            job.start()
            _wait_until_blocked(cursor)
            cursor.execute("COMMIT")
            job.join(timeout=30)
    finally:
        rival.close()
    lead.refresh_from_db()
    assert lead.score == 99, "the job's stale result did not overwrite the newer one"
    assert results[0].rescored == 0


def _wait_until_blocked(cursor: Any) -> None:
    for _ in range(200):
        # Inside a transaction the activity view is a snapshot: take a fresh one each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%WITH moved%%'"
        )
        if cursor.fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the job never waited for the row")


def test_the_sqlite_fallback_gives_the_same_scores(booking_rule: ScoringRule) -> None:
    FitRuleFactory(value="director", points=10)
    leads = [hot_clicker(job_title="Director"), hot_clicker(), LeadFactory()]
    later = NOW + timedelta(days=20)
    rules = load_rules()
    _decay_lead_by_lead(cause="decay", now=later, rules=rules, started=0)
    by_lead = {lead.pk: (lead.score, lead.temperature) for lead in Lead.objects.all()}
    Lead.objects.update(score=0, temperature="cold")
    for lead in leads:
        Lead.objects.filter(pk=lead.pk).update(score=80, temperature="hot")
    rescore_all_leads(now=later, rules=rules)
    assert {lead.pk: (lead.score, lead.temperature) for lead in Lead.objects.all()} == by_lead


def test_a_second_run_at_once_is_skipped(booking_rule: ScoringRule) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x5C0E_DECA])
            result = rescore_all_leads()
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert result.skipped


def test_the_command_and_the_task_rescore_every_lead(booking_rule: ScoringRule) -> None:
    lead = hot_clicker()
    with time_machine.travel(NOW + timedelta(days=14), tick=False):
        call_command("rescore_all_leads", stdout=(out := _Out()))
    assert "Rescored 1 leads (1 changed temperature)" in out.text
    lead.refresh_from_db()
    assert lead.temperature == "warm"
    with time_machine.travel(NOW + timedelta(days=60), tick=False):
        assert tasks.rescore_all_leads.delay().get()["rescored"] == 1
    assert ScoreChange.objects.filter(cause="manual").count() == 1


def test_the_old_names_still_rescore_every_lead(booking_rule: ScoringRule) -> None:
    # Saved beat schedules, queued messages and cron lines may still say decay_scores.
    lead = hot_clicker()
    with time_machine.travel(NOW + timedelta(days=14), tick=False):
        call_command("decay_scores", stdout=(out := _Out()))
    assert "Rescored 1 leads" in out.text
    assert tasks.decay_scores.name == "scoring.tasks.decay_scores"
    with time_machine.travel(NOW + timedelta(days=60), tick=False):
        assert tasks.decay_scores.delay().get()["rescored"] == 1
    lead.refresh_from_db()
    assert lead.temperature == "cold"


def test_seeding_the_defaults_is_idempotent_and_schedules_the_nightly_run() -> None:
    director = LeadFactory(job_title="Sales Director", email="maria@northwind.example")
    seed_default_scoring()
    seed_default_scoring()
    assert ScoringRule.objects.count() == 9
    task = PeriodicTask.objects.get(name=NIGHTLY_TASK_NAME)
    assert task.task == "scoring.tasks.rescore_all_leads"
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("3", "0", "UTC")
    director.refresh_from_db()
    assert director.score == 25, "corporate email +10, director title +15: scored at once"
    ScoringRule.objects.filter(name="Email click").delete()
    seed_default_scoring()
    assert ScoringRule.objects.count() == 8, "a marketer's deletion stays deleted"


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
