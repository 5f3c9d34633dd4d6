"""Scoring one lead, at once, when capture announces a submission or an activity; and a set
of leads at once, when it announces an import's activities."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from capture.models import Activity, Lead
from leadfunnel.announce import announce_on_commit
from leadfunnel.bulk_sql import update_rows
from scoring.active_rules import current_rules
from scoring.engine import (
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    ActivityFacts,
    LeadFacts,
    RuleSet,
    compute,
)
from scoring.models import ScoreChange
from scoring.signals import score_changed, temperature_changed

# A lead that turns hot leaves the nurture track for sales; later stages are a rep's call.
STAGES_BEFORE_SALES = (Lead.Stage.NEW, Lead.Stage.NURTURING)


@dataclass(frozen=True)
class ScoreResult:
    lead_id: int
    score: int
    temperature: str
    old_score: int
    old_temperature: str
    fit_points: int
    engagement_points: int
    reasons: list[dict[str, Any]]
    stage_moved: bool

    @property
    def changed(self) -> bool:
        return self.score != self.old_score or self.temperature != self.old_temperature


def score_lead(
    *,
    lead_id: int,
    cause: str = ScoreChange.Cause.ACTIVITY,
    now: datetime | None = None,
    rules: RuleSet | None = None,
    history: Literal["score", "temperature"] = "score",
) -> ScoreResult:
    """Recompute a lead's score from its whole activity log and store it.

    The lead row is locked first, so two rescorings of one lead (two clicks at once)
    queue up and the later one reads every committed activity: the last writer is
    complete. Writes one UPDATE and one ScoreChange when score or temperature moved
    (`history="temperature"`: only when the temperature did, as the nightly job does),
    and announces a temperature change on commit.
    """
    rules = rules or current_rules()
    now = now or timezone.now()
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update()
            .only(*LEAD_COLUMNS, "score", "temperature", "stage")
            .get(pk=lead_id)
        )
        rows = Activity.objects.filter(lead_id=lead_id, kind__in=rules.activity_kinds)
        activities = [ActivityFacts(*row) for row in rows.values_list(*ACTIVITY_COLUMNS)]
        result = _computed(lead=lead, activities=activities, rules=rules, now=now)
        if not result.changed:
            return result
        became_hot = (
            result.temperature == Lead.Temperature.HOT
            and result.old_temperature != Lead.Temperature.HOT
        )
        updates: dict[str, Any] = {"score": result.score, "temperature": result.temperature}
        if became_hot:
            # Conditional in the UPDATE itself: never moves a contacted/booked/won/lost lead.
            updates["stage"] = Case(
                When(stage__in=STAGES_BEFORE_SALES, then=Value(Lead.Stage.SALES_READY)),
                default=F("stage"),
            )
        Lead.objects.filter(pk=lead_id).update(**updates)
        temperature_moved = result.temperature != result.old_temperature
        if history == "score" or temperature_moved:
            ScoreChange.objects.create(
                lead_id=lead_id,
                old_score=result.old_score,
                new_score=result.score,
                old_temperature=result.old_temperature,
                new_temperature=result.temperature,
                reasons=result.reasons,
                cause=cause,
                at=now,
            )
        if result.score != result.old_score:
            announce_on_commit(
                score_changed, ScoreChange, lead_id=lead_id, old=result.old_score, new=result.score
            )
        if temperature_moved:
            announce_on_commit(
                temperature_changed,
                ScoreChange,
                lead_id=lead_id,
                old=result.old_temperature,
                new=result.temperature,
            )
    # The row is locked, so the stage read above is the one the UPDATE saw.
    return replace(result, stage_moved=became_hot and lead.stage in STAGES_BEFORE_SALES)


def score_leads(
    *,
    lead_ids: Sequence[int],
    cause: str = ScoreChange.Cause.ACTIVITY,
    now: datetime | None = None,
    rules: RuleSet | None = None,
) -> list[ScoreResult]:
    """`score_lead` for a set of leads (an import's chunk), in a few statements.

    The leads are locked in id order (two sets that share leads queue up, never deadlock),
    their activities read in one query and each score computed as `score_lead` computes
    it; the leads that moved are stored in one UPDATE, each with its ScoreChange and its
    reasons, and move to sales_ready as there when they turn hot. Like the set-based
    nightly pass (`rescore_all_leads`), only temperature changes are announced (on commit),
    not each score's move: a receiver's work per lead is what a set must not cost.
    """
    rules = rules or current_rules()
    now = now or timezone.now()
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update()
            .filter(pk__in=list(lead_ids))
            .only(*LEAD_COLUMNS, "score", "temperature", "stage")
            .order_by("pk")
        )
        activities: defaultdict[int, list[ActivityFacts]] = defaultdict(list)
        rows = Activity.objects.filter(
            lead_id__in=[lead.pk for lead in leads], kind__in=rules.activity_kinds
        )
        for lead_id, *facts in rows.values_list("lead_id", *ACTIVITY_COLUMNS):
            activities[lead_id].append(ActivityFacts(*facts))
        results: list[ScoreResult] = []
        moved: list[Lead] = []
        for lead in leads:
            result = _computed(lead=lead, activities=activities[lead.pk], rules=rules, now=now)
            if result.changed:
                stage_moved = (
                    result.temperature == Lead.Temperature.HOT
                    and result.old_temperature != Lead.Temperature.HOT
                    and lead.stage in STAGES_BEFORE_SALES
                )
                result = replace(result, stage_moved=stage_moved)
                lead.score, lead.temperature = result.score, result.temperature
                if stage_moved:
                    lead.stage = Lead.Stage.SALES_READY
                moved.append(lead)
            results.append(result)
        update_rows(Lead, moved, ["score", "temperature", "stage"])
        changed = [result for result in results if result.changed]
        ScoreChange.objects.bulk_create(
            ScoreChange(
                lead_id=result.lead_id,
                old_score=result.old_score,
                new_score=result.score,
                old_temperature=result.old_temperature,
                new_temperature=result.temperature,
                reasons=result.reasons,
                cause=cause,
                at=now,
            )
            for result in changed
        )
        for result in changed:
            if result.temperature != result.old_temperature:
                announce_on_commit(
                    temperature_changed,
                    ScoreChange,
                    lead_id=result.lead_id,
                    old=result.old_temperature,
                    new=result.temperature,
                )
    return results


def _computed(
    *, lead: Lead, activities: list[ActivityFacts], rules: RuleSet, now: datetime
) -> ScoreResult:
    """The lead's score as `rules` compute it from its facts, beside its stored one."""
    computed = compute(rules=rules, lead=LeadFacts.of(lead), activities=activities, now=now)
    return ScoreResult(
        lead_id=lead.pk,
        score=computed.score,
        temperature=computed.temperature,
        old_score=lead.score,
        old_temperature=lead.temperature,
        fit_points=computed.fit_points,
        engagement_points=computed.engagement_points,
        reasons=[reason.as_json() for reason in computed.reasons],
        stage_moved=False,
    )
