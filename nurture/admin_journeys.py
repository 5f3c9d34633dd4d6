"""Journeys in the admin: the list, and each journey's map, dry run and report."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from nurture.journey_views import map as journey_map
from nurture.journey_views import reports
from nurture.models import Enrollment, Journey, Sequence
from nurture.sequence_forms import SequenceForm
from nurture.services import editing


class JourneyForm(SequenceForm):
    class Meta:
        model = Journey
        fields = (
            "name",
            "status",
            "reentry",
            "reentry_days",
            "window_start_hour",
            "window_end_hour",
            "weekdays",
            "fallback_time_zone",
            "hand_hot_leads_to_sales",
            "track_engagement",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Publishing from the settings form is held to the map's publish rules.
        if (
            self.instance.pk
            and cleaned.get("status") == Sequence.Status.ACTIVE
            and self.instance.status != Sequence.Status.ACTIVE
        ):
            problems = editing.publish_problems(journey=self.instance)
            if problems:
                self.add_error("status", " ".join(problems))
        return cleaned


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    form = JourneyForm
    list_display = ("name", "status", "enrolled", "converted", "open_map")
    list_filter = ("status",)
    search_fields = ("name",)
    fields = JourneyForm.Meta.fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Journey]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                enrolled_count=Count("enrollments", distinct=True),
                converted_count=Count(
                    "enrollments",
                    filter=Q(enrollments__converted_at__isnull=False),
                    distinct=True,
                ),
                active_count=Count(
                    "enrollments",
                    filter=Q(enrollments__state=Enrollment.State.ACTIVE),
                    distinct=True,
                ),
            )
        )

    @admin.display(description="Enrolled", ordering="enrolled_count")
    def enrolled(self, journey: Journey) -> str:
        return f"{journey.enrolled_count} ({journey.active_count} now)"

    @admin.display(description="Converted", ordering="converted_count")
    def converted(self, journey: Journey) -> str:
        rate = (
            f" ({journey.converted_count / journey.enrolled_count:.0%})"
            if (journey.enrolled_count)
            else ""
        )
        return f"{journey.converted_count}{rate}"

    @admin.display(description="Map")
    def open_map(self, journey: Journey) -> str:
        url = reverse("admin:nurture_journey_map", args=[journey.pk])
        return format_html(
            '<a href="{}">Open map<span class="visually-hidden"> of {}</span></a>',
            url,
            journey.name,
        )

    readonly_fields = ("map_link",)

    @admin.display(description="Nodes and triggers")
    def map_link(self, journey: Journey) -> str:
        url = reverse("admin:nurture_journey_map", args=[journey.pk])
        return format_html('<a href="{}">Edit them on the map</a>', url)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A new journey starts as a draft: it is published from its map once written.
        if obj is None:
            return [f for f in self.fields if f != "status"]
        return ["map_link", *self.fields]

    def save_model(self, request: HttpRequest, obj: Journey, form: Any, change: bool) -> None:
        if not change:
            obj.status = Sequence.Status.PAUSED
        super().save_model(request, obj, form, change)
        if not change:
            obj.start_node = editing.start_journey(journey=obj)

    def response_add(
        self, request: HttpRequest, obj: Journey, post_url_continue: Any = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(
            reverse("admin:nurture_journey_map", args=[obj.pk]) + "?node=" + str(obj.start_node_id)
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        m = journey_map
        return [
            path("<int:journey_id>/map/", view(m.map_view), name="nurture_journey_map"),
            path(
                "<int:journey_id>/map/node/<int:node_id>/",
                view(m.node_view),
                name="nurture_journey_node",
            ),
            path(
                "<int:journey_id>/map/node/<int:node_id>/remove/",
                view(m.remove_view),
                name="nurture_journey_node_remove",
            ),
            path(
                "<int:journey_id>/map/node/<int:node_id>/add/<str:port>/",
                view(m.add_after_view),
                name="nurture_journey_add_after",
            ),
            path(
                "<int:journey_id>/map/edge/<int:edge_id>/insert/",
                view(m.insert_view),
                name="nurture_journey_insert",
            ),
            path(
                "<int:journey_id>/map/triggers/",
                view(m.triggers_view),
                name="nurture_journey_triggers",
            ),
            path(
                "<int:journey_id>/map/publish/",
                view(m.publish_view),
                name="nurture_journey_publish",
            ),
            path(
                "<int:journey_id>/map/sms-segments/",
                view(m.segments_view),
                name="nurture_journey_segments",
            ),
            path(
                "<int:journey_id>/dry-run/",
                view(reports.dry_run_view),
                name="nurture_journey_dryrun",
            ),
            path(
                "<int:journey_id>/report/", view(reports.report_view), name="nurture_journey_report"
            ),
            *super().get_urls(),
        ]
