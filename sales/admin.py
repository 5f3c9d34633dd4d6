from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from sales.models import (
    BlockedDate,
    Booking,
    Handoff,
    LeadChange,
    Note,
    RepProfile,
    SalesSettings,
    Task,
)


class BlockedDateInline(admin.TabularInline[BlockedDate, RepProfile]):
    model = BlockedDate
    extra = 1


@admin.register(RepProfile)
class RepProfileAdmin(admin.ModelAdmin[RepProfile]):
    list_display = ("user", "takes_leads", "time_zone", "slot_minutes", "last_assigned_at")
    list_filter = ("takes_leads",)
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
    readonly_fields = ("last_assigned_at",)
    inlines = [BlockedDateInline]


@admin.register(SalesSettings)
class SalesSettingsAdmin(admin.ModelAdmin[SalesSettings]):
    """One row: the list goes straight to it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseRedirect:
        SalesSettings.load()
        return HttpResponseRedirect(reverse("admin:sales_salessettings_change", args=[1]))


class ReadOnlyAdmin[M: Model](admin.ModelAdmin[M]):
    """Written by the sales workspace, read here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin[Booking]):
    list_display = ("lead", "rep", "starts_at", "status", "created_at")
    list_filter = ("status", "rep")
    date_hierarchy = "starts_at"
    search_fields = ("lead__email", "lead__company")
    list_select_related = ("lead", "rep__user")


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin[Note]):
    list_display = ("lead", "kind", "author", "created_at")
    list_filter = ("kind",)
    search_fields = ("lead__email", "body")
    list_select_related = ("lead", "author")


@admin.register(LeadChange)
class LeadChangeAdmin(ReadOnlyAdmin[LeadChange]):
    list_display = ("lead", "field", "old_value", "new_value", "actor", "at")
    list_filter = ("field",)
    search_fields = ("lead__email",)
    list_select_related = ("lead", "actor")


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin[Handoff]):
    list_display = ("lead", "rep", "turned_hot_at", "notified_at", "first_contact_at", "ended_at")
    list_filter = ("rep",)
    search_fields = ("lead__email",)
    list_select_related = ("lead", "rep")
    date_hierarchy = "turned_hot_at"


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin[Task]):
    list_display = ("title", "lead", "owner", "due_at", "completed_at", "source")
    list_filter = ("source", "owner", ("completed_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "lead__email")
    list_select_related = ("lead", "owner")
    date_hierarchy = "due_at"
