"""Scoring one lead, at once, when capture announces a submission or an activity."""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from capture.models import Activity, Lead
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

logger = logging.getLogger(__name__)
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
        computed = compute(rules=rules, lead=LeadFacts.of(lead), activities=activities, now=now)
        result = ScoreResult(
            lead_id=lead_id,
            score=computed.score,
            temperature=computed.temperature,
            old_score=lead.score,
            old_temperature=lead.temperature,
            fit_points=computed.fit_points,
            engagement_points=computed.engagement_points,
            reasons=[reason.as_json() for reason in computed.reasons],
            stage_moved=False,
        )
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
            old_score, new_score = result.old_score, result.score
            transaction.on_commit(
                lambda: _announce_score(lead_id=lead_id, old=old_score, new=new_score)
            )
        if temperature_moved:
            old, new = result.old_temperature, result.temperature
            transaction.on_commit(
                lambda: temperature_changed.send(
                    sender=ScoreChange, lead_id=lead_id, old=old, new=new
                )
            )
    # The row is locked, so the stage read above is the one the UPDATE saw.
    return replace(result, stage_moved=became_hot and lead.stage in STAGES_BEFORE_SALES)


def _announce_score(*, lead_id: int, old: int, new: int) -> None:
    # Robust: a failing receiver must not turn a committed rescoring into an error.
    for receiver, error in score_changed.send_robust(
        sender=ScoreChange, lead_id=lead_id, old=old, new=new
    ):
        if isinstance(error, Exception):
            logger.error(
                "score_changed receiver %r failed for lead %s", receiver, lead_id, exc_info=error
            )
