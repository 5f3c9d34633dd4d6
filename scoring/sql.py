"""Set-based scoring in PostgreSQL, built from the same compiled rules as `engine.compute`.

One pass over the activities that match any engagement rule computes, per lead and rule,
the decayed points in millionths (a window numbers each rule's matches, newest first, for
caps); the leads table adds its fit points. Every function here returns SQL text with
named parameters collected in a `Params`: no value is ever spliced into the text, hence
the S608 exemptions.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.engine import MICRO, EngagementRule, Params, RuleSet


@dataclass(frozen=True)
class ScoreColumns:
    """Where one rule set's results are in `scored_leads_sql`'s output."""

    score: str
    temperature: str
    fit: str
    engagement: str


def _engagement_aggregate(
    rules: Sequence[EngagementRule], *, now_epoch: float, half_life_seconds: float, p: Params
) -> str:
    """SELECT lead_id, e0, e1, …: each rule's points per lead, in millionths of a point."""
    matches = [rule.sql("a", p) for rule in rules]
    columns = [f"{match} AS m{index}" for index, match in enumerate(matches)]
    capped = [index for index, rule in enumerate(rules) if rule.cap]
    columns += [f"count(*) FILTER (WHERE {matches[i]}) OVER recent AS c{i}" for i in capped]
    if any(rule.decays for rule in rules):
        # The same float operations as engine.decay_weight and engine.micro_points.
        columns.append(
            f"power(0.5::float8, greatest(0::float8, {p(now_epoch)}::float8"
            f" - date_part('epoch', a.occurred_at)) / {p(half_life_seconds)}::float8) AS w"
        )
    sums = []
    for index, rule in enumerate(rules):
        counted = f"m{index}" + (f" AND c{index} <= {p(rule.cap)}" if rule.cap else "")
        if rule.decays:
            points = f"floor({p(rule.points)}::float8 * w * 1e6::float8 + 0.5::float8)::bigint"
        else:
            points = f"{p(rule.points * MICRO)}::bigint"
        sums.append(f"sum(CASE WHEN {counted} THEN {points} ELSE 0 END) AS e{index}")
    kinds = sorted({rule.activity_kind for rule in rules})
    window = (
        " WINDOW recent AS (PARTITION BY a.lead_id ORDER BY a.occurred_at DESC, a.id DESC"
        " ROWS UNBOUNDED PRECEDING)"
        if capped
        else ""
    )
    return (
        f"SELECT a.lead_id, {', '.join(sums)} FROM ("  # noqa: S608
        f"SELECT a.lead_id, {', '.join(columns)} FROM capture_activity a"
        f" WHERE a.kind = ANY({p(kinds)}::text[]) AND ({' OR '.join(matches)}){window}"
        ") a GROUP BY a.lead_id"
    )


def scored_leads_sql(
    rule_sets: Sequence[RuleSet], *, now_epoch: float, p: Params
) -> tuple[str, list[ScoreColumns]]:
    """SELECT id, old_score, old_temperature, stage and, per rule set, score/temperature/….

    Rule sets may share compiled rules (a simulation changes one rule of the current set);
    each engagement rule object is aggregated once.
    """
    if len({rules.half_life_days for rules in rule_sets}) > 1:
        raise ValueError("rule sets compared in one query must share the half-life")
    engagement: list[EngagementRule] = []
    position: dict[int, int] = {}
    for rules in rule_sets:
        for rule in rules.engagement:
            if id(rule) not in position:
                position[id(rule)] = len(engagement)
                engagement.append(rule)
    inner = ["l.id", "l.score AS old_score", "l.temperature AS old_temperature", "l.stage"]
    outer = ["id", "old_score", "old_temperature", "stage"]
    columns = []
    for index, rules in enumerate(rule_sets):
        fit = " + ".join(
            f"(CASE WHEN {rule.sql('l', p)} THEN {p(rule.points)} ELSE 0 END)" for rule in rules.fit
        )
        micro = " + ".join(f"coalesce(e.e{position[id(rule)]}, 0)" for rule in rules.engagement)
        # Half up, as engine.round_micro: floor((micro + ½) / 10⁶) in exact numeric.
        points = f"floor(({micro} + {MICRO // 2})::numeric / {MICRO})::int" if micro else "0"
        inner += [f"({fit or '0'})::int AS fit{index}", f"{points} AS engagement{index}"]
        score = f"(fit{index} + engagement{index})"
        temperature = rules.temperature_sql(
            score=score, fit=f"fit{index}", engagement=f"engagement{index}", p=p
        )
        outer += [
            f"fit{index}",
            f"engagement{index}",
            f"{score} AS score{index}",
            f"{temperature} AS temperature{index}",
        ]
        names = [f"{name}{index}" for name in ("score", "temperature", "fit", "engagement")]
        columns.append(ScoreColumns(*names))
    source = "capture_lead l"
    if engagement:
        aggregate = _engagement_aggregate(
            engagement,
            now_epoch=now_epoch,
            half_life_seconds=rule_sets[0].half_life_seconds,
            p=p,
        )
        source += f" LEFT JOIN ({aggregate}) e ON e.lead_id = l.id"
    # OFFSET 0 keeps the planner from flattening the inner query, which would copy the fit
    # and engagement expressions into every use of the score and temperature.
    sql = (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source} OFFSET 0) scored"  # noqa: S608
    )
    return sql, columns


def fit_match_counts_sql(rules: RuleSet, p: Params) -> str:
    """One row: how many leads each fit rule matches, in the order of `rules.fit`."""
    counts = [f"count(*) FILTER (WHERE {rule.sql('l', p)})" for rule in rules.fit]
    return f"SELECT {', '.join(counts)} FROM capture_lead l"  # noqa: S608


def engagement_match_counts_sql(rules: RuleSet, p: Params) -> str:
    """One row: how many leads have an activity matching each engagement rule."""
    counts = [
        f"count(DISTINCT a.lead_id) FILTER (WHERE {rule.sql('a', p)})" for rule in rules.engagement
    ]
    kinds = rules.activity_kinds
    return (
        f"SELECT {', '.join(counts)} FROM capture_activity a WHERE a.kind = ANY({p(kinds)}::text[])"  # noqa: S608
    )
