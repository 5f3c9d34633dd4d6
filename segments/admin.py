"""Segments in the admin: the condition builder with its live count and sample.

The builder (static/segments/builder.js) edits the `conditions` JSON in place; without
JavaScript the JSON itself is the form field. Each change POSTs the tree (htmx, debounced)
to `preview/`, which validates it with the model's own checks and answers the count, or
what is wrong and where; `sample/` answers 20 of the leads.
"""

import json
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from leadfunnel.auth import signed_in
from segments import catalog, selectors, services
from segments.models import Segment


class SegmentForm(forms.ModelForm[Segment]):
    class Meta:
        model = Segment
        fields = ("name", "description", "conditions")
        widgets = {
            "conditions": forms.Textarea(
                attrs={"rows": 8, "class": "segment-conditions", "spellcheck": "false"}
            ),
        }
        help_texts = {"conditions": "Built with the conditions above; the JSON is what is saved."}


class SegmentCounts(TypedDict):
    """What `SegmentAdmin.get_queryset` annotates on each segment of the list."""

    members_now: int


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    SegmentRow = WithAnnotations[Segment, SegmentCounts]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    form = SegmentForm
    list_display = ("name", "member_count", "refreshed_at", "updated_at")
    search_fields = ("name", "description")
    readonly_fields = ("refreshed_at",)
    change_form_template = "segments/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        queryset: QuerySet[Segment] = super().get_queryset(request)
        return queryset.annotate(members_now=Count("members"))

    @admin.display(description="members", ordering="members_now")
    def member_count(self, segment: "SegmentRow") -> int:
        return segment.members_now

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = signed_in(request.user)
        services.save_segment(segment=obj)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        context["segment_catalog"] = catalog.catalog()
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="segments_segment_preview"),
            path("sample/", view(self.sample_view), name="segments_segment_sample"),
            *super().get_urls(),
        ]

    def _tree(self, request: HttpRequest) -> tuple[Any, list[str]]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            tree = json.loads(request.POST.get("conditions") or "")
        except ValueError:
            return None, ["The conditions are not valid JSON."]
        candidate = Segment(pk=_int(request.POST.get("segment")), conditions=tree)
        try:
            candidate.clean_fields(exclude=["name", "description", "created_by"])
            candidate.clean()
        except ValidationError as error:
            return None, [m for messages in error.message_dict.values() for m in messages]
        return tree, []

    @staticmethod
    def _answer(
        request: HttpRequest, context: dict[str, Any], *, errors: list[str]
    ) -> HttpResponse:
        # A tree that cannot be evaluated is refused (422) with what is wrong and where;
        # builder.js has htmx swap that answer in too.
        return TemplateResponse(
            request,
            "segments/_preview.html",
            {**context, "errors": errors},
            status=422 if errors else 200,
        )

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        tree, errors = self._tree(request)
        count = None if errors else selectors.count_matching(tree=tree, now=timezone.now())
        return self._answer(request, {"count": count}, errors=errors)

    def sample_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        tree, errors = self._tree(request)
        leads = [] if errors else selectors.sample_matching(tree=tree, now=timezone.now())
        return self._answer(request, {"sample": leads, "showing_sample": True}, errors=errors)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
