"""request_rescore: another app's set-based write (an import) asks for rescoring on commit."""

from typing import Any

import pytest

from capture.models import Lead
from scoring.models import ScoreChange
from scoring.services import request_rescore, score_leads
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


def test_many_leads_are_scored_as_sets_and_every_lead_in_one_pass_in_a_worker(
    directors: list[Lead], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rescoring, "RESCORE_ONE_BY_ONE", 1)
    monkeypatch.setattr(rescoring, "RESCORE_SET", 1)
    queued: list[str] = []
    monkeypatch.setattr(
        rescoring.queueing, "rescore_all_soon", lambda *, cause: queued.append(cause)
    )
    sets: list[list[int]] = []

    def recorded(*, lead_ids: list[int], cause: str) -> None:
        sets.append(list(lead_ids))
        score_leads(lead_ids=lead_ids, cause=cause)

    monkeypatch.setattr(rescoring, "score_leads", recorded)
    ids = [d.pk for d in directors[:2]]
    with django_capture_on_commit_callbacks(execute=True):
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=ids)
        request_rescore(cause=ScoreChange.Cause.RULES)
    assert sets == [[ids[0]], [ids[1]]], "in sets of RESCORE_SET, in this process"
    assert _scores(directors) == [15, 15, 0], "only the leads asked for"
    assert queued == ["rules"], "every lead: left to the worker's pass"


def test_a_failing_set_is_logged_and_the_next_set_still_scored(
    directors: list[Lead],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(rescoring, "RESCORE_ONE_BY_ONE", 1)
    monkeypatch.setattr(rescoring, "RESCORE_SET", 2)
    first_set = [d.pk for d in directors[:2]]

    def broken_first(*, lead_ids: list[int], cause: str) -> None:
        if lead_ids == first_set:
            raise RuntimeError("database hiccup")
        score_leads(lead_ids=lead_ids, cause=cause)

    monkeypatch.setattr(rescoring, "score_leads", broken_first)
    with django_capture_on_commit_callbacks(execute=True):
        request_rescore(cause=ScoreChange.Cause.MANUAL, lead_ids=[d.pk for d in directors])
    assert _scores(directors) == [0, 0, 15]
    assert f"Rescoring 2 leads (ids {first_set[0]} to {first_set[1]}) failed" in caplog.text


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
