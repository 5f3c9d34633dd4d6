from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now

from capture.models import Activity, Lead
from scoring.choices import RuleField, RuleKind, RuleOperator
from scoring.engine import rule_problems


class ScoringRule(models.Model):
    """One line of the scoring model: who a lead is (fit) or what it did (engagement)."""

    # Defined in scoring.choices, which the engine imports instead of this module.
    Kind = RuleKind
    Field = RuleField
    Operator = RuleOperator

    name = models.CharField(
        max_length=120, help_text="Shown to sales reps as the reason, e.g. “Director title”."
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.FIT)
    active = models.BooleanField(default=True)
    points = models.IntegerField(help_text="Negative points lower the score (students, rivals).")
    # Fit --------------------------------------------------------------------------------
    field = models.CharField(max_length=20, choices=Field.choices, blank=True)
    question = models.CharField(
        max_length=200,
        blank=True,
        help_text="For answers: the question exactly as the landing page asks it. "
        "Blank matches an answer to any question.",
    )
    operator = models.CharField(max_length=20, choices=Operator.choices, blank=True)
    value = models.CharField(
        max_length=500,
        blank=True,
        help_text="Compared case-insensitively. Several values, comma-separated, for “is one "
        "of”, “contains”, “starts with”, “ends with” (any of them) and countries (codes "
        "such as GB, DE); a size bucket such as 10-49 for company size.",
    )
    # Engagement ---------------------------------------------------------------------------
    activity_kind = models.CharField(
        "activity", max_length=30, choices=Activity.Kind.choices, blank=True
    )
    pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="Page views: the URL; email clicks: the link; form submissions: the landing "
        "page slug; custom events: the name. Matched as a substring (/pricing) or, with *, "
        "as a whole (*/pricing), case-insensitively. Blank matches every one.",
    )
    max_occurrences = models.PositiveIntegerField(
        "cap",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Count at most this many occurrences per lead (the most recent ones).",
    )
    decays = models.BooleanField(
        default=True,
        help_text="Points fade with the half-life in the scoring settings. Turn off for "
        "lasting facts such as an unsubscribe.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="fit", activity_kind="")
                | models.Q(kind="engagement", field="", operator=""),
                name="scoringrule_fields_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The form hides the other kind's fields; what was typed there must not linger.
        if self.kind == self.Kind.FIT:
            self.activity_kind, self.pattern, self.max_occurrences = "", "", None
        else:
            self.field, self.question, self.operator, self.value = "", "", "", ""
        if self.field != self.Field.ANSWER:
            self.question = ""
        errors = rule_problems(self)  # the engine is the one place that knows
        if errors:
            raise ValidationError(errors)


class ScoringConfig(models.Model):
    """The one row of thresholds and decay; read through `scoring.active_rules.scoring_config`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    hot_threshold = models.IntegerField("hot at", default=60, help_text="Score at or above.")
    warm_threshold = models.IntegerField("warm at", default=30, help_text="Score at or above.")
    half_life_days = models.PositiveIntegerField(
        "half-life (days)",
        default=14,
        validators=[MinValueValidator(1)],
        help_text="Engagement points halve every so many days: 0.5^(age / half-life).",
    )
    require_both_for_hot = models.BooleanField(
        "hot needs fit and engagement",
        default=False,
        help_text="A lead is hot only when its fit and its engagement points each reach "
        "their minimum, so a perfect fit who never engaged, or a student who clicked "
        "everything, stays warm.",
    )
    min_fit_for_hot = models.IntegerField("minimum fit points for hot", default=20)
    min_engagement_for_hot = models.IntegerField("minimum engagement points for hot", default=10)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "scoring settings"
        verbose_name_plural = "scoring settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="scoringconfig_singleton"),
            models.CheckConstraint(
                condition=models.Q(warm_threshold__lt=models.F("hot_threshold")),
                name="scoringconfig_warm_below_hot",
            ),
            models.CheckConstraint(
                condition=models.Q(half_life_days__gte=1), name="scoringconfig_half_life_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return "Scoring settings"

    def clean(self) -> None:
        if (
            self.warm_threshold is not None
            and self.hot_threshold is not None
            and self.warm_threshold >= self.hot_threshold
        ):
            raise ValidationError({"warm_threshold": "Warm must start below hot."})


class ScoreChange(models.Model):
    """A lead's score or temperature moved: from what, to what, and why."""

    class Cause(models.TextChoices):
        CAPTURE = "capture", "Form submitted or details changed"
        ACTIVITY = "activity", "Activity recorded"
        DECAY = "decay", "Nightly decay"
        RULES = "rules", "Scoring rules changed"
        MANUAL = "manual", "Rescored on request"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_changes")
    old_score = models.IntegerField()
    new_score = models.IntegerField()
    old_temperature = models.CharField(max_length=4, choices=Lead.Temperature.choices)
    new_temperature = models.CharField(max_length=4, choices=Lead.Temperature.choices)
    reasons = models.JSONField(default=list, blank=True)
    cause = models.CharField(max_length=10, choices=Cause.choices)
    # db_default: the nightly job inserts these rows with INSERT … SELECT.
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="scorechange_lead_at_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.old_score} → {self.new_score}"

    @property
    def temperature_changed(self) -> bool:
        return self.old_temperature != self.new_temperature
