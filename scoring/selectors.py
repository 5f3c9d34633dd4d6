"""Scoring's reads: the settings, a lead's breakdown, rule match counts, simulations."""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from capture.models import Activity, Lead
from scoring.active_rules import current_rules, load_rules
from scoring.engine import (
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    ActivityFacts,
    Computed,
    EngagementRule,
    FitRule,
    LeadFacts,
    Params,
    RuleSet,
    compile_rule,
    compute,
    rule_problems,
)
from scoring.models import ScoreChange, ScoringRule
from scoring.sql import engagement_match_counts_sql, fit_match_counts_sql, scored_leads_sql

TEMPERATURES = tuple(Lead.Temperature.values)  # hot, warm, cold: plain strings for JSON


# A lead's breakdown ------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    lead: Lead
    score: int
    temperature: str
    fit_points: int
    engagement_points: int
    reasons: list[dict[str, Any]]
    history: list[ScoreChange] = field(default_factory=list)

    @property
    def stored_is_current(self) -> bool:
        return self.score == self.lead.score and self.temperature == self.lead.temperature


def score_breakdown(*, lead_id: int, now: datetime | None = None, history: int = 50) -> Breakdown:
    """Why a lead scores what it does now: its reasons under the current rules, and the
    latest ScoreChanges. Raises Lead.DoesNotExist."""
    rules = current_rules()
    lead = Lead.objects.get(pk=lead_id)
    rows = Activity.objects.filter(lead_id=lead_id, kind__in=rules.activity_kinds)
    computed = compute(
        rules=rules,
        lead=LeadFacts.of(lead),
        activities=[ActivityFacts(*row) for row in rows.values_list(*ACTIVITY_COLUMNS)],
        now=now or timezone.now(),
    )
    return Breakdown(
        lead=lead,
        score=computed.score,
        temperature=computed.temperature,
        fit_points=computed.fit_points,
        engagement_points=computed.engagement_points,
        reasons=[reason.as_json() for reason in computed.reasons],
        history=list(score_changes_for_lead(lead_id=lead_id)[:history]),
    )


def score_changes_for_lead(*, lead_id: int) -> QuerySet[ScoreChange]:
    return ScoreChange.objects.filter(lead_id=lead_id).order_by("-at", "-id")


# Rule match counts -------------------------------------------------------------------------


def rule_match_counts(*, rules: Iterable[ScoringRule]) -> dict[int, int | None]:
    """How many leads each rule matches today, by rule id (None: the rule is invalid).

    Fit rules count leads whose fields match; engagement rules count leads with at least
    one matching activity, whatever its age. Two queries on PostgreSQL, whatever the
    number of rules.
    """
    counts: dict[int, int | None] = {}
    fit: list[FitRule] = []
    engagement: list[EngagementRule] = []
    for rule in rules:
        if rule_problems(rule):
            counts[rule.pk] = None
            continue
        compiled = compile_rule(rule)
        if isinstance(compiled, FitRule):
            fit.append(compiled)
        else:
            engagement.append(compiled)
    if connection.vendor == "postgresql":
        rule_set = RuleSet(fit=tuple(fit), engagement=tuple(engagement))
        with connection.cursor() as cursor:
            for compiled_rules, build in (
                (fit, fit_match_counts_sql),
                (engagement, engagement_match_counts_sql),
            ):
                if not compiled_rules:
                    continue
                p = Params()
                cursor.execute(build(rule_set, p), p.values)
                counts.update(zip((r.id for r in compiled_rules), cursor.fetchone(), strict=True))
        return counts
    # SQLite (make run): few leads, counted in Python with the same tests.
    for fit_rule in fit:
        counts[fit_rule.id] = sum(fit_rule.matches(lead) for lead in _all_lead_facts())
    for engagement_rule in engagement:
        leads = {
            lead_id for lead_id, activity in _all_activities() if engagement_rule.matches(activity)
        }
        counts[engagement_rule.id] = len(leads)
    return counts


def _all_lead_facts() -> Iterator[LeadFacts]:
    for lead in Lead.objects.only(*LEAD_COLUMNS).iterator(2000):
        yield LeadFacts.of(lead)


def _all_activities() -> Iterator[tuple[int, ActivityFacts]]:
    for lead_id, *row in Activity.objects.values_list("lead_id", *ACTIVITY_COLUMNS).iterator(5000):
        yield lead_id, ActivityFacts(*row)


# Simulating a rule change ------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    """How many leads would move between temperatures if `rule` were saved as edited."""

    moves: dict[tuple[str, str], int]  # (before, after) → leads, for before != after
    before: dict[str, int]
    after: dict[str, int]
    leads: int

    @property
    def moved(self) -> int:
        return sum(self.moves.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "moved": self.moved,
            "moves": [
                {"from": old, "to": new, "leads": count}
                for (old, new), count in sorted(self.moves.items(), key=_pair_order)
            ],
            "before": self.before,
            "after": self.after,
        }


def _pair_order(item: tuple[tuple[str, str], int]) -> tuple[int, int]:
    (old, new), _ = item
    return TEMPERATURES.index(old), TEMPERATURES.index(new)


def simulate_rule_change(*, rule: ScoringRule, now: datetime | None = None) -> Simulation:
    """Score every lead under today's rules and under the rules with `rule` as edited
    (added, changed or, when inactive, left out), and count the temperature moves.

    Nothing is written: on PostgreSQL it is one SELECT grouping the pairs.
    """
    current = load_rules()
    now = now or timezone.now()
    fit = [r for r in current.fit if r.id != rule.pk or rule.pk is None]
    engagement = [r for r in current.engagement if r.id != rule.pk or rule.pk is None]
    if rule.active:
        compiled = compile_rule(rule)
        if isinstance(compiled, FitRule):
            fit.append(compiled)
        else:
            engagement.append(compiled)
    edited = replace(current, fit=tuple(fit), engagement=tuple(engagement))
    pairs = _temperature_pairs(current, edited, now=now)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for (old, new), count in pairs.items():
        before[old] += count
        after[new] += count
    return Simulation(
        moves={pair: count for pair, count in pairs.items() if pair[0] != pair[1]},
        before={t: before[t] for t in TEMPERATURES},
        after={t: after[t] for t in TEMPERATURES},
        leads=sum(pairs.values()),
    )


def _temperature_pairs(*rule_sets: RuleSet, now: datetime) -> Counter[tuple[str, str]]:
    if connection.vendor == "postgresql":
        p = Params()
        scored, columns = scored_leads_sql(rule_sets, now_epoch=now.timestamp(), p=p)
        first, second = columns
        sql = (
            f"SELECT {first.temperature}, {second.temperature}, count(*) FROM ({scored}) s "  # noqa: S608
            "GROUP BY 1, 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, p.values)
            return Counter({(old, new): count for old, new, count in cursor.fetchall()})
    return Counter(
        (first.temperature, second.temperature)
        for first, second in python_scores(rule_sets, now=now)
    )


def python_scores(
    rule_sets: Sequence[RuleSet], *, now: datetime, batch: int = 1000
) -> Iterator[list[Computed]]:
    """Every lead's Computed under each rule set, in Python, a batch of leads at a time."""
    kinds = sorted({k for rules in rule_sets for k in rules.activity_kinds})
    leads = Lead.objects.only(*LEAD_COLUMNS).order_by("id")
    last_id = 0
    while chunk := list(leads.filter(id__gt=last_id)[:batch]):
        last_id = chunk[-1].pk
        by_lead: dict[int, list[ActivityFacts]] = {lead.pk: [] for lead in chunk}
        rows = Activity.objects.filter(lead_id__in=by_lead, kind__in=kinds)
        for lead_id, *row in rows.values_list("lead_id", *ACTIVITY_COLUMNS):
            by_lead[lead_id].append(ActivityFacts(*row))
        for lead in chunk:
            facts = LeadFacts.of(lead)
            yield [
                compute(rules=rules, lead=facts, activities=by_lead[lead.pk], now=now)
                for rules in rule_sets
            ]
