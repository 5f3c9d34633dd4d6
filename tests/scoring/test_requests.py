"""request_rescore: another app's set-based write (an import) asks for rescoring on commit."""

from typing import Any

import pytest

from capture.models import Lead
from scoring.models import ScoreChange
from scoring.services import request_rescore
from scoring.services import requests as rescoring
from tests.factories import FitRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def directors() -> list[Lead]:
    FitRuleFactory(field="job_title", operator="contains", value="director", points=15)
    return [LeadFactory(job_title="Sales Director") for _ in range(3)]


def _scores(leads: list[Lead]) -> list[int]:
    return [lead.score for lead in Lead.objects.filter(pk__in=[x.pk for x in leads]).order_by("pk")]


def test_a_few_leads_are_scored_one_by_one_when_the_write_commits(
    directors: list[Lead], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=[d.pk for d in directors[:2]])
        assert _scores(directors) == [0, 0, 0], "nothing before the commit"
    for callback in callbacks:
        callback()
    assert _scores(directors) == [15, 15, 0], "only the leads asked for"


def test_many_leads_or_every_lead_get_one_set_based_pass_in_a_worker(
    directors: list[Lead], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rescoring, "RESCORE_ONE_BY_ONE", 1)
    queued: list[str] = []
    monkeypatch.setattr(
        rescoring.queueing, "rescore_all_soon", lambda *, cause: queued.append(cause)
    )
    with django_capture_on_commit_callbacks(execute=True):
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=[d.pk for d in directors[:2]])
        request_rescore(cause=ScoreChange.Cause.RULES)
    assert queued == ["manual", "rules"]
    assert _scores(directors) == [0, 0, 0], "left to the worker's pass"


def test_the_worker_pass_rescores_every_lead(
    directors: list[Lead], django_capture_on_commit_callbacks: Any
) -> None:
    # Celery is eager in the tests: the task named by scoring.queueing runs at once.
    with django_capture_on_commit_callbacks(execute=True):
        request_rescore(cause=ScoreChange.Cause.MANUAL)
    assert _scores(directors) == [15, 15, 15]


def test_no_leads_ask_for_nothing(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=[])
    assert callbacks == []


def test_a_failing_rescoring_is_logged_not_raised(
    directors: list[Lead],
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(rescoring, "score_lead", broken)
    with django_capture_on_commit_callbacks(execute=True):
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=[directors[0].pk])
    assert "Rescoring lead" in caplog.text
