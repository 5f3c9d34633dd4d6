"""One lead's score, temperature and reasons, in Python (score_lead, breakdowns)."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scoring.engine.rules import ActivityFacts, EngagementRule, LeadFacts, RuleSet

MICRO = 1_000_000


def decay_weight(*, now_epoch: float, occurred_at: datetime, half_life_seconds: float) -> float:
    # date_part('epoch', …) in SQL gives the same float as datetime.timestamp().
    age = max(0.0, now_epoch - occurred_at.timestamp())
    return float(0.5 ** (age / half_life_seconds))


def micro_points(points: int, weight: float) -> int:
    return math.floor(points * weight * 1e6 + 0.5)


def round_micro(micro: int) -> int:
    """Millionths of a point to whole points, half up (floor division, as in SQL)."""
    return (micro + MICRO // 2) // MICRO


def signed(points: float) -> str:
    number = f"{abs(points):g}" if isinstance(points, int) else f"{abs(points):.1f}"
    return f"+{number}" if points >= 0 else f"−{number}"


# Computing one lead ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    rule_id: int | None
    label: str
    points: float
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "label": self.label,
            "points": self.points,
            "text": self.text,
        }


@dataclass(frozen=True)
class Computed:
    score: int
    temperature: str
    fit_points: int
    engagement_points: int
    reasons: tuple[Reason, ...]


def compute(
    *,
    rules: RuleSet,
    lead: LeadFacts,
    activities: Iterable[ActivityFacts],
    now: datetime,
) -> Computed:
    """A lead's score, temperature and reasons under `rules` at `now`, in Python."""
    reasons: list[Reason] = []
    fit_points = 0
    for fit_rule in rules.fit:
        if fit_rule.matches(lead):
            fit_points += fit_rule.points
            reasons.append(
                Reason(
                    fit_rule.id,
                    fit_rule.name,
                    fit_rule.points,
                    f"{fit_rule.name} {signed(fit_rule.points)}",
                )
            )
    # Most recent first: a cap counts the latest occurrences (ties broken by id, as in SQL).
    recent = sorted(activities, key=lambda a: (a.occurred_at, a.id), reverse=True)
    now_epoch = now.timestamp()

    def weight(occurred_at: datetime) -> float:
        return decay_weight(
            now_epoch=now_epoch, occurred_at=occurred_at, half_life_seconds=rules.half_life_seconds
        )

    total_micro = 0
    for rule in rules.engagement:
        matched = [activity for activity in recent if rule.matches(activity)]
        counted = matched[: rule.cap] if rule.cap else matched
        if not counted:
            continue
        if rule.decays:
            micro = sum(micro_points(rule.points, weight(a.occurred_at)) for a in counted)
        else:
            micro = rule.points * MICRO * len(counted)
        total_micro += micro
        reasons.append(
            _engagement_reason(rule, matched=len(matched), counted=len(counted), micro=micro)
        )
    engagement_points = round_micro(total_micro)
    score = fit_points + engagement_points
    return Computed(
        score=score,
        temperature=rules.temperature(score=score, fit=fit_points, engagement=engagement_points),
        fit_points=fit_points,
        engagement_points=engagement_points,
        reasons=tuple(reasons),
    )


def _engagement_reason(rule: EngagementRule, *, matched: int, counted: int, micro: int) -> Reason:
    label = f"{matched} {rule.noun(matched)}"
    if rule.pattern:
        label += f" matching {rule.pattern}"
    if counted < matched:
        label += f", {counted} counted"
    nominal = rule.points * counted
    points = round(micro / MICRO, 1)
    text = f"{label} {signed(nominal)}"
    if rule.decays and f"{points:.1f}" != f"{float(nominal):.1f}":
        text += f" (decayed {points:.1f})"
    return Reason(rule.id, label, points, text)
