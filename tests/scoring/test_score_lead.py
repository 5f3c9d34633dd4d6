from datetime import timedelta
from typing import Any

import pytest
import time_machine

from capture.models import Activity, Lead
from scoring.models import ScoreChange, ScoringConfig
from scoring.services import load_rules, score_lead
from scoring.signals import temperature_changed
from tests.factories import ActivityFactory, EngagementRuleFactory, FitRuleFactory, LeadFactory
from tests.scoring.conftest import NOW

pytestmark = pytest.mark.django_db


def clicks(lead: Lead, count: int, *, days_ago: float = 0) -> None:
    for _ in range(count):
        ActivityFactory(
            lead=lead, kind=Activity.Kind.EMAIL_CLICKED, occurred_at=NOW - timedelta(days=days_ago)
        )


def test_it_adds_fit_and_engagement_points_and_explains_them(frozen: Any) -> None:
    FitRuleFactory(name="Director title", value="director", points=15)
    EngagementRuleFactory(points=5)
    lead = LeadFactory(job_title="Marketing Director")
    clicks(lead, 3, days_ago=0)

    result = score_lead(lead_id=lead.pk)

    assert (result.score, result.fit_points, result.engagement_points) == (30, 15, 15)
    assert [reason["text"] for reason in result.reasons] == [
        "Director title +15",
        "3 email clicks +15",
    ]
    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (30, "warm")


def test_it_says_how_much_old_engagement_has_decayed(frozen: Any) -> None:
    EngagementRuleFactory(points=5)
    lead = LeadFactory()
    clicks(lead, 1, days_ago=0)
    clicks(lead, 2, days_ago=14)  # one half-life: 2.5 each

    result = score_lead(lead_id=lead.pk)

    assert result.reasons[0]["text"] == "3 email clicks +15 (decayed 10.0)"
    assert result.reasons[0]["points"] == 10.0
    assert result.score == 10


def test_points_halve_every_half_life(config: ScoringConfig) -> None:
    config.half_life_days = 7
    config.save()
    EngagementRuleFactory(points=40)
    lead = LeadFactory()
    clicks(lead, 1)
    scores = []
    for days in (0, 7, 14, 21):
        with time_machine.travel(NOW + timedelta(days=days), tick=False):
            scores.append(score_lead(lead_id=lead.pk, rules=load_rules()).score)
    assert scores == [40, 20, 10, 5]


def test_a_non_decaying_rule_keeps_its_points(frozen: Any) -> None:
    EngagementRuleFactory(activity_kind="unsubscribed", points=-50, decays=False)
    lead = LeadFactory()
    ActivityFactory(lead=lead, kind="unsubscribed", occurred_at=NOW - timedelta(days=300))
    result = score_lead(lead_id=lead.pk)
    assert result.score == -50
    assert result.reasons[0]["text"] == "1 unsubscribe −50"


def test_a_cap_counts_only_the_most_recent_occurrences(frozen: Any) -> None:
    EngagementRuleFactory(points=10, max_occurrences=2)
    lead = LeadFactory()
    clicks(lead, 1, days_ago=28)  # quarter weight: left out by the cap
    clicks(lead, 2, days_ago=0)
    result = score_lead(lead_id=lead.pk)
    assert result.score == 20
    assert result.reasons[0]["text"] == "3 email clicks, 2 counted +20"


def test_a_pattern_picks_the_pages_that_count(frozen: Any) -> None:
    EngagementRuleFactory(activity_kind="page_viewed", pattern="/pricing", points=10)
    lead = LeadFactory()
    for url in ("https://example.com/pricing?plan=pro", "https://example.com/blog", "/PRICING"):
        ActivityFactory(lead=lead, kind="page_viewed", metadata={"url": url}, occurred_at=NOW)
    result = score_lead(lead_id=lead.pk)
    assert result.score == 20
    assert result.reasons[0]["text"] == "2 page views matching /pricing +20"


@pytest.mark.parametrize(
    ("score", "temperature"),
    [(29, "cold"), (30, "warm"), (59, "warm"), (60, "hot"), (-10, "cold")],
)
def test_thresholds_decide_the_temperature(score: int, temperature: str, frozen: Any) -> None:
    FitRuleFactory(field="company", operator="is_set", value="", points=score)
    lead = LeadFactory(company="Acme")
    assert score_lead(lead_id=lead.pk).temperature == temperature


@pytest.mark.parametrize(
    ("fit", "engagement", "temperature"),
    [(60, 0, "warm"), (0, 60, "warm"), (20, 40, "hot"), (19, 41, "warm"), (20, 9, "cold")],
)
def test_hot_can_require_both_fit_and_engagement(
    config: ScoringConfig, fit: int, engagement: int, temperature: str, frozen: Any
) -> None:
    config.require_both_for_hot = True
    config.min_fit_for_hot, config.min_engagement_for_hot = 20, 10
    config.save()
    FitRuleFactory(field="company", operator="is_set", value="", points=fit or 1)
    EngagementRuleFactory(points=engagement or 1)
    lead = LeadFactory(company="Acme" if fit else "")
    if engagement:
        clicks(lead, 1)
    assert score_lead(lead_id=lead.pk).temperature == temperature


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("new", "sales_ready"),
        ("nurturing", "sales_ready"),
        ("contacted", "contacted"),
        ("booked", "booked"),
        ("won", "won"),
        ("lost", "lost"),
        ("sales_ready", "sales_ready"),
    ],
)
def test_a_lead_turning_hot_moves_to_sales_ready_only_from_new_or_nurturing(
    stage: str, expected: str, frozen: Any
) -> None:
    EngagementRuleFactory(activity_kind="booking_made", points=80)
    lead = LeadFactory(stage=stage)
    ActivityFactory(lead=lead, kind="booking_made", occurred_at=NOW)
    result = score_lead(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.temperature == "hot"
    assert lead.stage == expected
    assert result.stage_moved == (expected != stage)


def test_a_lead_that_is_already_hot_is_not_moved_again(frozen: Any) -> None:
    EngagementRuleFactory(activity_kind="booking_made", points=80)
    lead = LeadFactory(stage="nurturing", temperature="hot", score=70)
    ActivityFactory(lead=lead, kind="booking_made", occurred_at=NOW)
    score_lead(lead_id=lead.pk)
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (80, "nurturing"), "a rep put it back; leave it there"


def test_it_records_a_score_change_only_when_something_moved(frozen: Any) -> None:
    rule = FitRuleFactory(name="Director title", value="director", points=40)
    lead = LeadFactory(job_title="Director")
    score_lead(lead_id=lead.pk)
    score_lead(lead_id=lead.pk)
    change = ScoreChange.objects.get()
    assert (change.old_score, change.new_score) == (0, 40)
    assert (change.old_temperature, change.new_temperature) == ("cold", "warm")
    assert change.reasons == [
        {"rule_id": rule.pk, "label": "Director title", "points": 40, "text": "Director title +40"}
    ]
    assert change.at == NOW
    assert change.cause == ScoreChange.Cause.ACTIVITY


def test_temperature_changed_is_sent_on_commit_with_old_and_new(
    frozen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    EngagementRuleFactory(activity_kind="booking_made", points=70)
    lead = LeadFactory()
    ActivityFactory(lead=lead, kind="booking_made", occurred_at=NOW)
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    temperature_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            score_lead(lead_id=lead.pk)
        assert received == [], "nothing is announced before the commit"
        for callback in callbacks:
            callback()
        score_lead(lead_id=lead.pk)  # no change: no announcement
    finally:
        temperature_changed.disconnect(receiver)
    assert [(r["lead_id"], r["old"], r["new"]) for r in received] == [(lead.pk, "cold", "hot")]
    assert received[0]["sender"] is ScoreChange


def test_one_lead_is_scored_in_a_handful_of_queries(
    frozen: Any, django_assert_max_num_queries: Any
) -> None:
    FitRuleFactory()
    EngagementRuleFactory()
    lead = LeadFactory(job_title="Director")
    clicks(lead, 5)
    load_rules()
    score_lead(lead_id=lead.pk)  # warm the rule cache
    clicks(lead, 1)
    # savepoint, lock+read lead, activities, UPDATE, INSERT ScoreChange, release
    with django_assert_max_num_queries(6):
        score_lead(lead_id=lead.pk)
