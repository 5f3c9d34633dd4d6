"""The scoring model as code: rules compiled to tests that run in Python and in SQL.

Each operator is built by one function that returns its Python test and its SQL expression
side by side, so `score_lead` (Python, one lead) and the nightly job (SQL, every lead) cannot
drift apart; tests/scoring/test_bulk_equivalence.py holds them to it with hypothesis.

Arithmetic is chosen so both sides agree to the last point: an activity's decayed points are
rounded to millionths of a point as an integer (floor(x + 0.5), the same float operations in
both), integers are summed (order does not matter), and the total is rounded half up.
Text comparisons are case-insensitive through Python's str.lower and PostgreSQL's lower(),
which agree for every letter but a handful (the dotted capital İ) under a UTF-8 locale.
"""

from scoring.engine.compute import (
    MICRO,
    Computed,
    Reason,
    compute,
    decay_weight,
    micro_points,
    round_micro,
    signed,
)
from scoring.engine.conditions import (
    OPERATORS_BY_FIELD,
    SIZE_ORDER,
    Condition,
    Params,
    condition,
    is_free_mail,
    pattern_condition,
)
from scoring.engine.rules import (
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    PATTERN_KEYS,
    ActivityFacts,
    EngagementRule,
    FitRule,
    LeadFacts,
    RuleSet,
    compile_rule,
    rule_set,
)
from scoring.engine.validation import describe, rule_problems

__all__ = [
    "ACTIVITY_COLUMNS",
    "LEAD_COLUMNS",
    "MICRO",
    "OPERATORS_BY_FIELD",
    "PATTERN_KEYS",
    "SIZE_ORDER",
    "ActivityFacts",
    "Computed",
    "Condition",
    "EngagementRule",
    "FitRule",
    "LeadFacts",
    "Params",
    "Reason",
    "RuleSet",
    "compile_rule",
    "compute",
    "condition",
    "decay_weight",
    "describe",
    "is_free_mail",
    "micro_points",
    "pattern_condition",
    "round_micro",
    "rule_problems",
    "rule_set",
    "signed",
]
