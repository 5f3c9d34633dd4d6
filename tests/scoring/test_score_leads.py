"""score_leads: scoring a set of leads (an import's chunk) as score_lead scores each one."""

from datetime import timedelta
from typing import Any

import pytest

from capture.models import Activity, Lead
from scoring.models import ScoreChange
from scoring.services import score_lead, score_leads
from scoring.signals import score_changed, temperature_changed
from tests.factories import ActivityFactory, EngagementRuleFactory, FitRuleFactory, LeadFactory
from tests.scoring.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(frozen: Any) -> list[Lead]:
    """Leads whose scores move in different ways under a fit and an engagement rule."""
    FitRuleFactory(name="Director title", value="director", points=40)
    EngagementRuleFactory(name="Clicks", points=10)
    made = [
        LeadFactory(job_title="Director", stage=Lead.Stage.NURTURING),  # hot: 40 + 20
        LeadFactory(job_title="Director", stage=Lead.Stage.CONTACTED),  # hot, stage kept
        LeadFactory(job_title="Engineer"),  # warm: 30
        LeadFactory(job_title="Engineer"),  # unchanged: 0
    ]
    for lead, clicks in zip(made, (2, 2, 3, 0), strict=True):
        for days_ago in range(clicks):
            ActivityFactory(
                lead=lead,
                kind=Activity.Kind.EMAIL_CLICKED,
                occurred_at=NOW - timedelta(hours=days_ago),
            )
    return made


def _stored(leads: list[Lead]) -> list[tuple[Any, ...]]:
    ids = [lead.pk for lead in leads]
    rows = Lead.objects.filter(pk__in=ids).order_by("pk")
    history = ScoreChange.objects.filter(lead_id__in=ids).order_by("lead_id")
    return [
        *rows.values_list("pk", "score", "temperature", "stage"),
        *history.values_list("lead_id", "old_score", "new_score", "new_temperature", "reasons"),
    ]


def test_a_set_is_scored_and_stored_as_score_lead_does_each_lead(
    leads: list[Lead], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        results = score_leads(lead_ids=[lead.pk for lead in leads])
    set_based = _stored(leads)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        score=0, temperature="cold", stage=Lead.Stage.NEW
    )
    for lead, stage in zip(leads, (Lead.Stage.NURTURING, Lead.Stage.CONTACTED), strict=False):
        Lead.objects.filter(pk=lead.pk).update(stage=stage)
    ScoreChange.objects.all().delete()
    one_by_one = [score_lead(lead_id=lead.pk) for lead in leads]

    assert set_based == _stored(leads)
    assert results == one_by_one
    assert [(r.score, r.temperature, r.stage_moved) for r in results] == [
        (60, "hot", True),
        (60, "hot", False),
        (30, "warm", False),
        (0, "cold", False),
    ]


def test_temperature_changes_are_announced_on_commit_and_score_moves_are_not(
    leads: list[Lead], django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[tuple[str, int]] = []

    def temperature(*, lead_id: int, new: str, **kwargs: Any) -> None:
        heard.append((new, lead_id))

    def score(*, lead_id: int, **kwargs: Any) -> None:
        heard.append(("score", lead_id))

    temperature_changed.connect(temperature, dispatch_uid="tests.temperature")
    score_changed.connect(score, dispatch_uid="tests.score")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            score_leads(lead_ids=[lead.pk for lead in leads])
            assert heard == [], "nothing before the commit"
    finally:
        temperature_changed.disconnect(dispatch_uid="tests.temperature")
        score_changed.disconnect(dispatch_uid="tests.score")
    assert heard == [("hot", leads[0].pk), ("hot", leads[1].pk), ("warm", leads[2].pk)]


def test_a_lead_deleted_meanwhile_is_left_out(leads: list[Lead]) -> None:
    gone = leads[0].pk
    Lead.objects.filter(pk=gone).delete()
    results = score_leads(lead_ids=[gone, leads[2].pk])
    assert [result.lead_id for result in results] == [leads[2].pk]
