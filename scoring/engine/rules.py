"""Compiled rules: what fit rules read of a lead, what engagement rules match, the set."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capture.models import Activity, Lead
from scoring.choices import RuleKind
from scoring.engine.conditions import (
    Condition,
    Field,
    Params,
    any_sql,
    condition,
    json_text,
    pattern_condition,
)

if TYPE_CHECKING:  # the model imports the engine (to validate), not the reverse
    from scoring.models import ScoringRule

# Which metadata a pattern is matched against, per activity kind.
PATTERN_KEYS: Mapping[str, tuple[str, ...]] = {
    Activity.Kind.PAGE_VIEWED: ("url",),
    Activity.Kind.EMAIL_CLICKED: ("link", "url"),
    Activity.Kind.FORM_SUBMITTED: ("landing_page",),
    Activity.Kind.CUSTOM: ("name",),
}
_NOUNS: Mapping[str, tuple[str, str]] = {
    Activity.Kind.FORM_SUBMITTED: ("form submission", "form submissions"),
    Activity.Kind.PAGE_VIEWED: ("page view", "page views"),
    Activity.Kind.EMAIL_OPENED: ("email open", "email opens"),
    Activity.Kind.EMAIL_CLICKED: ("email click", "email clicks"),
    Activity.Kind.BOOKING_MADE: ("booking", "bookings"),
    Activity.Kind.UNSUBSCRIBED: ("unsubscribe", "unsubscribes"),
    Activity.Kind.EMAIL_BOUNCED: ("bounce", "bounces"),
    Activity.Kind.CUSTOM: ("custom event", "custom events"),
}


# The lead ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFacts:
    """What fit rules read of a lead, as plain text."""

    email: str = ""
    job_title: str = ""
    company: str = ""
    company_size: str = ""
    industry: str = ""
    country: str = ""
    time_zone: str = ""
    source: str = ""
    answers: Any = field(default_factory=dict)

    @classmethod
    def of(cls, lead: Lead) -> "LeadFacts":
        return cls(
            email=lead.email,
            job_title=lead.job_title,
            company=lead.company,
            company_size=lead.company_size,
            industry=lead.industry,
            country=str(getattr(lead.country, "code", lead.country) or ""),
            time_zone=lead.time_zone,
            source=lead.source,
            answers=lead.answers,
        )

    def texts(self, name: str, question: str = "") -> list[str]:
        """The values a fit rule on `name` looks at (several for “any question”)."""
        if name == Field.EMAIL_DOMAIN:
            parts = self.email.split("@")  # split_part(email, '@', 2) in SQL
            return [parts[1] if len(parts) > 1 else ""]
        if name == Field.ANSWER:
            if not isinstance(self.answers, dict):
                return [""] if question else []
            if question:
                return [json_text(self.answers.get(question)) or ""]
            return [json_text(answer) or "" for answer in self.answers.values()]
        return [getattr(self, name)]


LEAD_COLUMNS = (
    "email",
    "job_title",
    "company",
    "company_size",
    "industry",
    "country",
    "time_zone",
    "source",
    "answers",
)


def field_sql(name: str, question: str, lead: str, p: Params, test: Condition) -> str:
    """`test` applied in SQL to the lead column(s) behind fit field `name`."""
    if name == Field.EMAIL_DOMAIN:
        return test.sql(f"split_part({lead}.email, '@', 2)", p)
    if name == Field.ANSWER:
        if question:
            return test.sql(f"coalesce({lead}.answers ->> {p(question)}, '')", p)
        inner = test.sql("coalesce(answer.value, '')", p)
        # jsonb_each_text fails on anything but an object: CASE guards the order.
        return (
            f"(CASE WHEN jsonb_typeof({lead}.answers) = 'object' THEN EXISTS (SELECT 1 FROM "  # noqa: S608
            f"jsonb_each_text({lead}.answers) AS answer(key, value) WHERE {inner}) "
            "ELSE false END)"
        )
    return test.sql(f"{lead}.{name}", p)


# Activities --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityFacts:
    id: int
    kind: str
    occurred_at: datetime
    metadata: Any


ACTIVITY_COLUMNS = ("id", "kind", "occurred_at", "metadata")


# Rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitRule:
    id: int
    name: str
    points: int
    field: str
    question: str
    test: Condition

    def matches(self, lead: LeadFacts) -> bool:
        return any(self.test.test(text) for text in lead.texts(self.field, self.question))

    def sql(self, lead: str, p: Params) -> str:
        return field_sql(self.field, self.question, lead, p, self.test)


@dataclass(frozen=True)
class EngagementRule:
    id: int
    name: str
    points: int
    activity_kind: str
    pattern: str
    cap: int | None
    decays: bool
    test: Condition | None

    def matches(self, activity: ActivityFacts) -> bool:
        if activity.kind != self.activity_kind:
            return False
        if self.test is None:
            return True
        metadata = activity.metadata if isinstance(activity.metadata, dict) else {}
        values = (json_text(metadata.get(key)) for key in PATTERN_KEYS[self.activity_kind])
        return any(value is not None and self.test.test(value) for value in values)

    def sql(self, activity: str, p: Params) -> str:
        kind = f"{activity}.kind = {p(self.activity_kind)}"
        if self.test is None:
            return kind
        keys = PATTERN_KEYS[self.activity_kind]
        tests = [self.test.sql(f"({activity}.metadata ->> {p(key)})", p) for key in keys]
        return f"({kind} AND coalesce({any_sql(tests)}, false))"

    def noun(self, count: int) -> str:
        singular, plural = _NOUNS.get(self.activity_kind, ("activity", "activities"))
        return singular if count == 1 else plural


def compile_rule(rule: "ScoringRule") -> FitRule | EngagementRule:
    if rule.kind == RuleKind.FIT:
        return FitRule(
            id=rule.pk,
            name=rule.name,
            points=rule.points,
            field=rule.field,
            question=rule.question.strip() if rule.field == Field.ANSWER else "",
            test=condition(operator=rule.operator, value=rule.value, field=rule.field),
        )
    return EngagementRule(
        id=rule.pk,
        name=rule.name,
        points=rule.points,
        activity_kind=rule.activity_kind,
        pattern=rule.pattern.strip(),
        cap=rule.max_occurrences,
        decays=rule.decays,
        test=pattern_condition(rule.pattern) if rule.pattern.strip() else None,
    )


@dataclass(frozen=True)
class RuleSet:
    """The active rules and the settings, as scoring uses them (cached per process)."""

    fit: tuple[FitRule, ...] = ()
    engagement: tuple[EngagementRule, ...] = ()
    hot_threshold: int = 60
    warm_threshold: int = 30
    half_life_days: int = 14
    require_both_for_hot: bool = False
    min_fit_for_hot: int = 0
    min_engagement_for_hot: int = 0

    @property
    def half_life_seconds(self) -> float:
        return float(self.half_life_days * 86400)

    @property
    def activity_kinds(self) -> list[str]:
        return sorted({rule.activity_kind for rule in self.engagement})

    def temperature(self, *, score: int, fit: int, engagement: int) -> str:
        if score >= self.hot_threshold and (
            not self.require_both_for_hot
            or (fit >= self.min_fit_for_hot and engagement >= self.min_engagement_for_hot)
        ):
            return Lead.Temperature.HOT
        # A lead kept from hot by the fit-and-engagement rule is still warm.
        if score >= self.warm_threshold:
            return Lead.Temperature.WARM
        return Lead.Temperature.COLD

    def temperature_sql(self, *, score: str, fit: str, engagement: str, p: Params) -> str:
        hot = f"{score} >= {p(self.hot_threshold)}"
        if self.require_both_for_hot:
            hot += (
                f" AND {fit} >= {p(self.min_fit_for_hot)}"
                f" AND {engagement} >= {p(self.min_engagement_for_hot)}"
            )
        return (
            f"(CASE WHEN {hot} THEN 'hot' WHEN {score} >= {p(self.warm_threshold)} "
            "THEN 'warm' ELSE 'cold' END)"
        )


def rule_set(*, rules: Iterable["ScoringRule"], config: Any, only_active: bool = True) -> RuleSet:
    compiled = [compile_rule(rule) for rule in rules if rule.active or not only_active]
    return RuleSet(
        fit=tuple(rule for rule in compiled if isinstance(rule, FitRule)),
        engagement=tuple(rule for rule in compiled if isinstance(rule, EngagementRule)),
        hot_threshold=config.hot_threshold,
        warm_threshold=config.warm_threshold,
        half_life_days=config.half_life_days,
        require_both_for_hot=config.require_both_for_hot,
        min_fit_for_hot=config.min_fit_for_hot,
        min_engagement_for_hot=config.min_engagement_for_hot,
    )
