"""Operators as pairs: a Python test and its SQL twin, built by one function each."""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django_countries import countries

from capture.models import Lead
from scoring.choices import RuleField, RuleOperator
from scoring.freemail import FREE_MAIL_DOMAINS, FREE_MAIL_FAMILIES, FREE_MAIL_TYPOS

Op = RuleOperator
Field = RuleField
SIZE_ORDER = tuple(Lead.CompanySize.values)  # smallest first
NUMBER = "[+-]?[0-9]+([.][0-9]+)?"
_FREE_FAMILY = re.compile(FREE_MAIL_FAMILIES)
# Providers and their obvious typos, one list: one `= ANY` in SQL, one lookup in Python.
_FREE_MAIL_KNOWN = FREE_MAIL_DOMAINS | FREE_MAIL_TYPOS
COUNTRY_CODES = frozenset(code for code, _ in countries)
_TEXT_OPERATORS = (
    Op.EQUALS,
    Op.ONE_OF,
    Op.CONTAINS,
    Op.STARTS_WITH,
    Op.ENDS_WITH,
    Op.GREATER_THAN,
    Op.LESS_THAN,
    Op.IS_SET,
)
OPERATORS_BY_FIELD: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(Field.values, _TEXT_OPERATORS),
    Field.EMAIL_DOMAIN: (*_TEXT_OPERATORS[:5], Op.IS_SET, Op.FREE_MAIL, Op.CORPORATE_EMAIL),
    Field.COMPANY_SIZE: (Op.EQUALS, Op.ONE_OF, Op.GREATER_THAN, Op.LESS_THAN, Op.IS_SET),
    Field.COUNTRY: (Op.EQUALS, Op.ONE_OF, Op.COUNTRY_IN, Op.IS_SET),
}
NEEDS_NO_VALUE = (Op.IS_SET, Op.FREE_MAIL, Op.CORPORATE_EMAIL)


# What the fragments bind: values the database adapter turns into SQL literals.
SqlValue = bool | int | float | Decimal | str | datetime | list[Any] | None


class Params:
    """Named query parameters: a fragment may use a value twice and still bind it in order."""

    def __init__(self) -> None:
        self.values: dict[str, SqlValue] = {}

    def __call__(self, value: SqlValue) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


SqlBuilder = Callable[[str, Params], str]


@dataclass(frozen=True)
class Condition:
    """A test on one text: `test` in Python, `sql(expression, params)` in PostgreSQL."""

    test: Callable[[str], bool]
    sql: SqlBuilder


def any_sql(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def split_values(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    return domain in _FREE_MAIL_KNOWN or _FREE_FAMILY.fullmatch(domain) is not None


def _free_mail_sql(x: str, p: Params) -> str:
    return (
        f"(lower({x}) = ANY({p(sorted(_FREE_MAIL_KNOWN))}::text[])"
        f" OR lower({x}) ~ {p(f'^{FREE_MAIL_FAMILIES}$')})"
    )


def condition(*, operator: str, value: str, field: str = "") -> Condition:
    """The operator applied to `value`: one Python test and its SQL twin, built together."""
    words = split_values(value)
    target = value.strip().lower()
    match operator:
        case Op.EQUALS:
            return Condition(
                test=lambda text: text.lower() == target,
                sql=lambda x, p: f"lower({x}) = {p(target)}",
            )
        case Op.ONE_OF:
            options = frozenset(words)
            return Condition(
                test=lambda text: text.lower() in options,
                sql=lambda x, p: f"lower({x}) = ANY({p(sorted(options))}::text[])",
            )
        case Op.CONTAINS:
            return Condition(
                test=lambda text: any(word in text.lower() for word in words),
                sql=lambda x, p: any_sql([f"strpos(lower({x}), {p(w)}) > 0" for w in words]),
            )
        case Op.STARTS_WITH:
            return Condition(
                test=lambda text: text.lower().startswith(tuple(words)),
                sql=lambda x, p: any_sql([f"starts_with(lower({x}), {p(w)})" for w in words]),
            )
        case Op.ENDS_WITH:
            return Condition(
                test=lambda text: text.lower().endswith(tuple(words)),
                sql=lambda x, p: any_sql(
                    [f"right(lower({x}), {p(len(w))}) = {p(w)}" for w in words]
                ),
            )
        case Op.GREATER_THAN | Op.LESS_THAN if field == Field.COMPANY_SIZE:
            # Sizes are buckets: compare their places in Lead.CompanySize (1-based, as SQL's).
            rank = SIZE_ORDER.index(value.strip()) + 1
            above = operator == Op.GREATER_THAN
            sign = ">" if above else "<"

            def size_test(text: str) -> bool:
                if text not in SIZE_ORDER:
                    return False
                place = SIZE_ORDER.index(text) + 1
                return place > rank if above else place < rank

            return Condition(
                test=size_test,
                sql=lambda x, p: (
                    f"coalesce(array_position({p(list(SIZE_ORDER))}::text[], {x}::text)"
                    f" {sign} {p(rank)}, false)"
                ),
            )
        case Op.GREATER_THAN | Op.LESS_THAN:
            limit = Decimal(value.strip())
            above = operator == Op.GREATER_THAN
            sign = ">" if above else "<"
            pattern = re.compile(NUMBER)

            def number_test(text: str) -> bool:
                # strip(" ") and [0-9]: exactly what btrim() and the SQL regex accept.
                number = text.strip(" ")
                if pattern.fullmatch(number) is None:
                    return False
                return Decimal(number) > limit if above else Decimal(number) < limit

            return Condition(
                test=number_test,
                sql=lambda x, p: (
                    f"(CASE WHEN btrim({x}) ~ {p(f'^{NUMBER}$')} "
                    f"THEN btrim({x})::numeric {sign} {p(str(limit))}::numeric ELSE false END)"
                ),
            )
        case Op.IS_SET:
            return Condition(
                test=lambda text: text.strip(" ") != "",
                sql=lambda x, p: f"(btrim({x}) <> '')",
            )
        case Op.FREE_MAIL:
            return Condition(test=is_free_mail, sql=_free_mail_sql)
        case Op.CORPORATE_EMAIL:
            return Condition(
                test=lambda text: text.strip(" ") != "" and not is_free_mail(text),
                sql=lambda x, p: f"(btrim({x}) <> '' AND NOT {_free_mail_sql(x, p)})",
            )
        case Op.COUNTRY_IN:
            codes = frozenset(word.upper() for word in words)
            return Condition(
                test=lambda text: text.upper() in codes,
                sql=lambda x, p: f"upper({x}) = ANY({p(sorted(codes))}::text[])",
            )
    raise ValueError(f"unknown operator {operator!r}")


def pattern_condition(pattern: str) -> Condition:
    """A URL/link pattern: a substring, or with * a whole-value glob; case-insensitive."""
    lowered = pattern.strip().lower()
    if "*" not in lowered:
        return Condition(
            test=lambda text: lowered in text.lower(),
            sql=lambda x, p: f"strpos(lower({x}), {p(lowered)}) > 0",
        )
    pieces = lowered.split("*")
    regex = re.compile(".*".join(re.escape(piece) for piece in pieces), re.DOTALL)
    like = "%".join(
        piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for piece in pieces
    )
    return Condition(
        test=lambda text: regex.fullmatch(text.lower()) is not None,
        sql=lambda x, p: f"lower({x}) LIKE {p(like)}",
    )


def json_text(value: Any) -> str | None:
    """A JSON value as PostgreSQL's ->> gives it: strings bare, other scalars as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
