"""Journeys in the admin: the list, and each journey's map, dry run and report."""

from django.contrib import admin
from django.urls import URLPattern, path

from nurture.journey_views import map as journey_map
from nurture.journey_views import reports
from nurture.models import Journey


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "reentry")
    list_filter = ("status",)
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

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:journey_id>/map/", view(journey_map.map_view), name="nurture_journey_map"),
            path("<int:journey_id>/dry-run/", view(reports.dry_run_view),
                 name="nurture_journey_dryrun"),
            path("<int:journey_id>/report/", view(reports.report_view),
                 name="nurture_journey_report"),
            *super().get_urls(),
        ]  # fmt: skip
