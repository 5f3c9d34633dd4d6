"""Subscription topics and the consent log in the admin (the log is read-only: it is evidence)."""

from django.contrib import admin
from django.http import HttpRequest

from nurture.models import ConsentRecord, SubscriptionTopic


@admin.register(SubscriptionTopic)
class SubscriptionTopicAdmin(admin.ModelAdmin[SubscriptionTopic]):
    list_display = ("name", "requires_opt_in", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("landing_pages",)
    fields = (
        "name",
        "slug",
        "description",
        "requires_opt_in",
        "consent_text",
        "landing_pages",
        "position",
    )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin[ConsentRecord]):
    list_display = ("recorded_at", "lead", "topic", "action", "source")
    list_filter = ("action", "source", "topic")
    search_fields = ("lead__email",)
    list_select_related = ("lead", "topic")
    date_hierarchy = "recorded_at"

    def get_readonly_fields(
        self, request: HttpRequest, obj: ConsentRecord | None = None
    ) -> list[str]:
        return [field.name for field in ConsentRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ConsentRecord | None = None) -> bool:
        return False
