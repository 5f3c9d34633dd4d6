"""What marketers are told about a rule: its problems, and one line describing it."""

import re
from typing import TYPE_CHECKING

from capture.models import Activity
from scoring.choices import RuleKind
from scoring.engine.conditions import (
    COUNTRY_CODES,
    NEEDS_NO_VALUE,
    NUMBER,
    OPERATORS_BY_FIELD,
    SIZE_ORDER,
    Field,
    Op,
    split_values,
)
from scoring.engine.rules import PATTERN_KEYS

if TYPE_CHECKING:  # the model imports the engine (to validate), not the reverse
    from scoring.models import ScoringRule

# Validation --------------------------------------------------------------------------------


def rule_problems(rule: "ScoringRule") -> dict[str, str]:
    """What is wrong with a rule, by form field, in words a marketer can act on."""
    problems: dict[str, str] = {}
    if rule.points == 0:
        problems["points"] = "Give the rule some points (negative ones lower the score)."
    if rule.kind == RuleKind.ENGAGEMENT:
        if not rule.activity_kind:
            problems["activity_kind"] = "Choose the activity this rule counts."
        elif rule.pattern.strip() and rule.activity_kind not in PATTERN_KEYS:
            problems["pattern"] = (
                "A pattern applies only to page views, email clicks, form submissions and "
                "custom events; leave it blank for this activity."
            )
        return problems
    if not rule.field:
        problems["field"] = "Choose the lead field this rule looks at."
        return problems
    if not rule.operator:
        problems["operator"] = "Choose how the field is compared."
        return problems
    allowed = OPERATORS_BY_FIELD[rule.field]
    if rule.operator not in allowed:
        names = ", ".join(f"“{Op(op).label}”" for op in allowed)
        problems["operator"] = (
            f"“{Op(rule.operator).label}” does not apply to "
            f"{Field(rule.field).label.lower()}; use one of {names}."
        )
        return problems
    value = rule.value.strip()
    if rule.operator in NEEDS_NO_VALUE:
        if value:
            problems["value"] = f"“{Op(rule.operator).label}” takes no value: leave it blank."
        return problems
    if not split_values(value):
        problems["value"] = f"Give a value to compare with (“{Op(rule.operator).label}”)."
    elif rule.field == Field.COMPANY_SIZE and (
        not (sizes := [part.strip() for part in value.split(",") if part.strip()])
        or not set(sizes) <= set(SIZE_ORDER)
        or (rule.operator != Op.ONE_OF and len(sizes) != 1)
    ):
        problems["value"] = (
            f"Company sizes are the form's buckets: {', '.join(SIZE_ORDER)} "
            "(comma-separated for “is one of”)."
        )
    elif (
        rule.operator in (Op.GREATER_THAN, Op.LESS_THAN)
        and rule.field != Field.COMPANY_SIZE
        and not re.fullmatch(NUMBER, value)
    ):
        problems["value"] = "Give a number, such as 100 or 2.5."
    elif rule.operator == Op.COUNTRY_IN:
        unknown = [
            code
            for code in value.upper().replace(" ", "").split(",")
            if code and code not in COUNTRY_CODES
        ]
        if unknown:
            problems["value"] = (
                f"Not a country code: {', '.join(unknown)}. Use two letters, such as GB, DE, US."
            )
    return problems


def describe(rule: "ScoringRule") -> str:
    """One line for the rule list: “Job title contains director, head”."""
    if rule.kind == RuleKind.ENGAGEMENT:
        text = Activity.Kind(rule.activity_kind).label if rule.activity_kind else "?"
        if rule.pattern:
            text += f" matching {rule.pattern}"
        if rule.max_occurrences:
            text += f", at most {rule.max_occurrences}"
        return text
    subject = Field(rule.field).label if rule.field else "?"
    if rule.field == Field.ANSWER and rule.question:
        subject = f"Answer to “{rule.question}”"
    operator = Op(rule.operator).label if rule.operator else "?"
    return f"{subject} {operator} {rule.value}".strip()
