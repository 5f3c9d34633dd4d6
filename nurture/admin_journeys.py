"""Journeys in the admin: the list, and each journey's map, dry run and report."""

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from nurture.admin_figures import AdminFiguresMedia, email_counts, rate_bar, sparkline
from nurture.journey_views import map as journey_map
from nurture.journey_views import reports
from nurture.models import Delivery, Enrollment, Journey, Sequence
from nurture.sequence_forms import SequenceForm
from nurture.services import editing


class JourneyForm(SequenceForm[Journey]):
    class Meta:
        model = Journey
        fields = (
            "name",
            "status",
            "topic",
            "reentry",
            "reentry_days",
            "window_start_hour",
            "window_end_hour",
            "weekdays",
            "fallback_time_zone",
            "hand_hot_leads_to_sales",
            "track_engagement",
        )

    def clean_reentry_days(self) -> int:
        # The model's check constraint would only name itself ("sequence_reentry_days").
        days: int = self.cleaned_data["reentry_days"]
        if days < 1:
            raise ValidationError("Enter at least 1 day.")
        return days

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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


SPARK_DAYS = 14


class JourneyFigures(TypedDict):
    """What `JourneyAdmin.get_queryset` annotates on each journey of the list."""

    enrolled_count: int
    converted_count: int
    active_count: int
    emails_sent: int
    emails_opened: int
    emails_clicked: int


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    JourneyRow = WithAnnotations[Journey, JourneyFigures]
else:
    JourneyRow = Journey


def _emails(name: str) -> Coalesce:
    """One email figure of the journey as a grouped subquery (no join multiplying rows)."""
    counts = (
        Delivery.objects.filter(enrollment__sequence=OuterRef("pk"))
        .values("enrollment__sequence")
        .annotate(n=email_counts()[name])
        .values("n")
    )
    return Coalesce(Subquery(counts), 0)


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin[Journey]):
    form = JourneyForm
    list_display = (
        "name",
        "status",
        "enrolled",
        "sent",
        "open_rate",
        "click_rate",
        "converted",
        "open_map",
    )

    class Media:
        # The map's sheet too: a long journey name wraps in the list (see its last rules).
        css = {"all": (*AdminFiguresMedia.css["all"], "leadfunnel/journey-map.css")}

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
                **{f"emails_{name}": _emails(name) for name in ("sent", "opened", "clicked")},
            )
        )

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The page's journeys get their entries per day in one grouped query (the sparkline)."""
        changelist = super().get_changelist_instance(request)
        journeys = list(changelist.result_list)  # evaluated once; the template reuses them
        zone = timezone.get_current_timezone()
        today = timezone.localdate()
        days = [today - timedelta(days=n) for n in range(SPARK_DAYS - 1, -1, -1)]
        counts = {
            (row["sequence_id"], row["day"]): row["n"]
            for row in Enrollment.objects.filter(
                sequence_id__in=[j.pk for j in journeys],
                started_at__gte=datetime.combine(days[0], time(0), tzinfo=zone),
            )
            .annotate(day=TruncDate("started_at", tzinfo=zone))
            .values("sequence_id", "day")
            .annotate(n=Count("pk"))
            .order_by()
        }
        for journey in journeys:
            journey.daily_entries = [counts.get((journey.pk, day), 0) for day in days]
        return changelist

    @admin.display(description="Sent", ordering="emails_sent")
    def sent(self, journey: JourneyRow) -> int:
        return journey.emails_sent

    @admin.display(description="Open rate")
    def open_rate(self, journey: JourneyRow) -> str:
        return rate_bar(journey.emails_opened, journey.emails_sent, label="opened")

    @admin.display(description="Click rate")
    def click_rate(self, journey: JourneyRow) -> str:
        return rate_bar(journey.emails_clicked, journey.emails_sent, label="clicked")

    @admin.display(description="Enrolled", ordering="enrolled_count")
    def enrolled(self, journey: JourneyRow) -> str:
        values = getattr(journey, "daily_entries", [])
        return format_html(
            '{} <span class="lf-entries">{}</span>',
            f"{journey.enrolled_count} ({journey.active_count} now)",
            sparkline(values, label=f"Leads entering per day, last {SPARK_DAYS} days"),
        )

    @admin.display(description="Converted", ordering="converted_count")
    def converted(self, journey: JourneyRow) -> str:
        rate = (
            f" ({journey.converted_count / journey.enrolled_count:.0%})"
            if (journey.enrolled_count)
            else ""
        )
        return rate_bar(
            journey.converted_count,
            journey.enrolled_count,
            label="converted",
            text=f"{journey.converted_count}{rate}",
        )

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
