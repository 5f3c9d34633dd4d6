"""Scoring follows capture at once: a submission or an activity rescores on commit."""

from typing import Any

import pytest

from capture.models import Activity, LandingPage, Lead
from capture.services import Tracking, capture_submission, record_activity
from scoring.models import ScoreChange
from scoring.services import current_rules
from tests.factories import EngagementRuleFactory, FitRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_a_captured_lead_is_scored_when_the_submission_commits(
    page: LandingPage, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(name="Director title", value="director", points=15)
    FitRuleFactory(
        name="Within a month",
        field="answer",
        operator="contains",
        value="within a month",
        points=20,
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = capture_submission(
            page=page,
            data={"email": "ada@analytical.example", "job_title": "Director of Engineering"},
            tracking=Tracking(),
            answer="Within a month",
        )
    assert Lead.objects.get().score == 0, "not before the commit"
    for callback in callbacks:
        callback()
    lead = Lead.objects.get(pk=result.lead.pk)
    assert (lead.score, lead.temperature) == (35, "warm")
    change = ScoreChange.objects.get()
    assert change.cause == ScoreChange.Cause.CAPTURE
    assert [r["text"] for r in change.reasons] == ["Director title +15", "Within a month +20"]


def test_a_click_turns_a_lead_hot_in_the_same_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    FitRuleFactory(value="director", points=40)
    EngagementRuleFactory(activity_kind=Activity.Kind.EMAIL_CLICKED, points=25)
    lead = LeadFactory(job_title="Director", score=40, temperature="warm", stage="nurturing")
    with django_capture_on_commit_callbacks(execute=True):
        record_activity(
            lead=lead,
            kind=Activity.Kind.EMAIL_CLICKED,
            metadata={"link": "https://example.com/book"},
        )
    lead.refresh_from_db()
    assert (lead.score, lead.temperature, lead.stage) == (65, "hot", "sales_ready")
    assert ScoreChange.objects.get().cause == ScoreChange.Cause.ACTIVITY


def test_a_failed_rescoring_does_not_break_the_capture(
    page: LandingPage, django_capture_on_commit_callbacks: Any, monkeypatch: Any, caplog: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("scoring.receivers.score_lead", broken)
    with django_capture_on_commit_callbacks(execute=True):
        capture_submission(page=page, data={"email": "a@example.com"}, tracking=Tracking())
    assert Lead.objects.count() == 1
    assert "the nightly run will catch up" in caplog.text


def test_the_rules_cache_is_refreshed_when_a_rule_is_saved_or_deleted(
    django_capture_on_commit_callbacks: Any,
) -> None:
    rule = FitRuleFactory(points=10)
    assert [r.points for r in current_rules().fit] == [10]
    rule.points = 20
    rule.save()
    assert [r.points for r in current_rules().fit] == [10], "cached until the save commits"
    with django_capture_on_commit_callbacks(execute=True):
        rule.save()
    assert [r.points for r in current_rules().fit] == [20]
    with django_capture_on_commit_callbacks(execute=True):
        rule.delete()
    assert current_rules().fit == ()


def test_a_broken_rule_is_skipped_not_fatal(caplog: Any) -> None:
    FitRuleFactory(points=10)
    FitRuleFactory(field="company_size", operator="greater_than", value="lots")  # no clean()
    assert [r.points for r in current_rules().fit] == [10]
    assert "Skipping scoring rule" in caplog.text
