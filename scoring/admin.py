from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from scoring.engine import describe, signed
from scoring.models import ScoreChange, ScoringConfig, ScoringRule
from scoring.selectors import rule_match_counts, simulate_rule_change
from scoring.services import request_rescore


def _rescore_every_lead(cause: str) -> None:
    """Queue the set-based rescoring after the change commits; a broker outage is logged
    (robust) and the nightly run applies the change instead."""
    request_rescore(cause=cause)


class _RuleChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Counted for the page's rules together: two queries, not two per rule.
        rules = list(self.result_list)
        counts = rule_match_counts(rules=rules)
        for rule in rules:
            rule.leads_matching = counts.get(rule.pk)


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin[ScoringRule]):
    list_display = ("name", "kind", "condition", "points_display", "active", "matching")
    list_display_links = ("name",)
    list_filter = ("kind", "active")
    search_fields = ("name", "value", "pattern")
    change_form_template = "admin/scoring/scoringrule/change_form.html"
    change_list_template = "admin/scoring/scoringrule/change_list.html"
    fieldsets = (
        (None, {"fields": ("name", "kind", "points", "active")}),
        (
            "Fit: who the lead is",
            {"fields": ("field", "question", "operator", "value"), "classes": ("rule-fit",)},
        ),
        (
            "Engagement: what the lead does",
            {
                "fields": ("activity_kind", "pattern", "max_occurrences", "decays"),
                "classes": ("rule-engagement",),
            },
        ),
    )

    class Media:
        js = ("scoring/rule_form.js",)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _RuleChangeList

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"can_rescore": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    @admin.display(description="Rule")
    def condition(self, rule: ScoringRule) -> str:
        return describe(rule)

    @admin.display(description="Points", ordering="points")
    def points_display(self, rule: ScoringRule) -> str:
        return signed(rule.points)

    @admin.display(description="Leads matching")
    def matching(self, rule: ScoringRule) -> str:
        count = getattr(rule, "leads_matching", None)
        return "—" if count is None else f"{count:,}"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("simulate/", view(self.simulate_view), name="scoring_scoringrule_simulate"),
            path(
                "<path:object_id>/simulate/",
                view(self.simulate_view),
                name="scoring_scoringrule_simulate_change",
            ),
            path("rescore/", view(self.rescore_view), name="scoring_scoringrule_rescore"),
            *super().get_urls(),
        ]

    def simulate_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        """The unsaved form in, the temperature moves it would cause out (JSON)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        rule = self.get_object(request, object_id) if object_id else None
        if object_id and rule is None:
            raise Http404("No such rule")
        allowed = (
            self.has_change_permission(request, rule) if rule else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form_class = self.get_form(request, rule, change=rule is not None)
        form = form_class(request.POST, instance=rule)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        simulation = simulate_rule_change(rule=form.save(commit=False))
        return JsonResponse(simulation.as_json())

    def rescore_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        _rescore_every_lead(ScoreChange.Cause.MANUAL)
        self.message_user(request, "Every lead is being rescored; this takes a few seconds.")
        return HttpResponseRedirect(reverse("admin:scoring_scoringrule_changelist"))

    def save_model(self, request: HttpRequest, obj: ScoringRule, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _rescore_every_lead(ScoreChange.Cause.RULES)
        self.message_user(request, "Leads are being rescored with the new rules.", messages.INFO)

    def delete_model(self, request: HttpRequest, obj: ScoringRule) -> None:
        super().delete_model(request, obj)
        _rescore_every_lead(ScoreChange.Cause.RULES)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScoringRule]) -> None:
        super().delete_queryset(request, queryset)
        _rescore_every_lead(ScoreChange.Cause.RULES)


@admin.register(ScoringConfig)
class ScoringConfigAdmin(admin.ModelAdmin[ScoringConfig]):
    fieldsets = (
        ("Temperature", {"fields": ("hot_threshold", "warm_threshold")}),
        ("Decay", {"fields": ("half_life_days",)}),
        (
            "Hot needs both",
            {"fields": ("require_both_for_hot", "min_fit_for_hot", "min_engagement_for_hot")},
        ),
    )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One row of settings: the list is its form.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        ScoringConfig.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:scoring_scoringconfig_change", args=[1]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ScoringConfig, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _rescore_every_lead(ScoreChange.Cause.RULES)


@admin.register(ScoreChange)
class ScoreChangeAdmin(admin.ModelAdmin[ScoreChange]):
    list_display = ("at", "lead_link", "scores", "temperatures", "cause", "reason_summary")
    list_filter = ("cause", "new_temperature", "at")
    search_fields = ("lead__email",)
    list_select_related = ("lead",)
    date_hierarchy = "at"
    fields = (
        "lead",
        "at",
        "cause",
        "old_score",
        "new_score",
        "old_temperature",
        "new_temperature",
        "reason_list",
    )
    readonly_fields = fields

    @admin.display(description="Lead", ordering="lead__email")
    def lead_link(self, change: ScoreChange) -> str:
        url = reverse("admin:scoring_scorechange_changelist") + f"?lead__id__exact={change.lead_id}"
        return format_html('<a href="{}" title="This lead’s history">{}</a>', url, change.lead)

    @admin.display(description="Score")
    def scores(self, change: ScoreChange) -> str:
        return f"{change.old_score} → {change.new_score}"

    @admin.display(description="Temperature")
    def temperatures(self, change: ScoreChange) -> str:
        if change.old_temperature == change.new_temperature:
            return change.get_new_temperature_display()
        return f"{change.get_old_temperature_display()} → {change.get_new_temperature_display()}"

    @admin.display(description="Reasons")
    def reason_summary(self, change: ScoreChange) -> str:
        return "; ".join(reason.get("text", "") for reason in change.reasons)

    @admin.display(description="Reasons")
    def reason_list(self, change: ScoreChange) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((r.get("text", ""),) for r in change.reasons)),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
