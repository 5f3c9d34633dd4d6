"""The marketer's pages: import leads, export an audience, fulfil a privacy request.

Each is a ModelAdmin whose add page is the workflow and whose list is the history.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect

from capture.models import Lead
from integrations import forms, selectors, tasks
from integrations.models import (
    AudienceExport,
    AudienceSync,
    AudienceSyncRun,
    LeadImport,
    PrivacyRequest,
)
from integrations.services import importing, privacy
from integrations.services.audience import record_audience_export
from leadfunnel.auth import signed_in

FULFIL = "integrations.fulfil_privacy_request"


class _ReadOnlyHistory(admin.ModelAdmin[Any]):
    """The list is an audit trail: rows are made by the workflow, never edited."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }


# Lead import -----------------------------------------------------------------------------


@admin.register(LeadImport)
class LeadImportAdmin(_ReadOnlyHistory):
    list_display = (
        "file_name",
        "status",
        "progress",
        "created_count",
        "updated_count",
        "skipped_count",
        "error_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    change_form_template = "integrations/admin/import_detail.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeadImport]:
        return super().get_queryset(request).defer("csv_text").select_related("created_by")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    @admin.display(description="progress")
    def progress(self, lead_import: LeadImport) -> str:
        return f"{lead_import.processed_rows:,} / {lead_import.total_rows:,}"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:import_id>/mapping/",
                view(self.mapping_view),
                name="integrations_leadimport_mapping",
            ),
            path(
                "<int:import_id>/start/",
                view(self.start_view),
                name="integrations_leadimport_start",
            ),
            *super().get_urls(),
        ]

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                # One read of at most the limit plus a byte: a bigger file is refused.
                raw = upload.read(request_limit() + 1)
                lead_import = importing.create_import(
                    file_name=upload.name, raw=raw, user=signed_in(request.user)
                )
            except importing.ImportFileError as error:
                form.add_error("file", str(error))
            else:
                return HttpResponseRedirect(
                    reverse("admin:integrations_leadimport_mapping", args=[lead_import.pk])
                )
        context = self._context(
            request,
            "Import leads from a CSV file",
            form=form,
            limit_mb=request_limit() // 1_000_000,
            max_columns=settings.INTEGRATIONS_IMPORT_MAX_COLUMNS,
        )
        # A refused file is a bad request: the page says why, and nothing was stored.
        status = 400 if form.errors else 200
        return TemplateResponse(
            request, "integrations/admin/import_upload.html", context, status=status
        )

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def mapping_view(self, request: HttpRequest, import_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        lead_import = get_object_or_404(LeadImport.objects.defer("csv_text"), pk=import_id)
        detail = reverse("admin:integrations_leadimport_change", args=[import_id])
        if lead_import.in_progress or lead_import.status == LeadImport.Status.DONE:
            return HttpResponseRedirect(detail)
        form = forms.MappingForm(request.POST or None, lead_import=lead_import)
        if request.method == "POST" and form.is_valid():
            importing.save_mapping(
                lead_import=lead_import,
                mapping=form.mapping,
                dedupe=form.cleaned_data["dedupe"],
                sequence=form.cleaned_data["sequence"],
                consent_text=form.cleaned_data["consent_text"],
            )
            if lead_import.total_rows <= importing.SYNC_DRY_RUN_ROWS:
                importing.dry_run_now(import_id=import_id)
            else:
                importing.start_run(import_id=import_id, dry_run=True)
            return HttpResponseRedirect(detail)
        samples = importing.sample_rows(import_id=import_id, count=3)
        columns = [
            (bound, [row[index] if index < len(row) else "" for row in samples])
            for index, bound in enumerate(form.column_fields())
        ]
        context = self._context(
            request,
            f"Map the columns of {lead_import.file_name}",
            form=form,
            columns=columns,
            lead_import=lead_import,
        )
        return TemplateResponse(request, "integrations/admin/import_mapping.html", context)

    def start_view(self, request: HttpRequest, import_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        lead_import = get_object_or_404(LeadImport.objects.defer("csv_text"), pk=import_id)
        if lead_import.status not in (LeadImport.Status.DRY_RUN, LeadImport.Status.FAILED):
            messages.error(request, "Map the columns and do a dry run first.")
        else:
            importing.start_run(import_id=import_id, dry_run=request.POST.get("dry_run") == "1")
            messages.success(request, "The import runs in the background; this page follows it.")
        return HttpResponseRedirect(
            reverse("admin:integrations_leadimport_change", args=[import_id])
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        lead_import = get_object_or_404(self.get_queryset(request), pk=object_id)
        context = self._context(
            request,
            str(lead_import),
            lead_import=lead_import,
            original=lead_import,
            can_import=self.has_add_permission(request),
            mapped=[
                (column, importing.FIELDS.get(name, name))
                for column, name in lead_import.mapping.items()
            ],
        )
        return TemplateResponse(request, self.change_form_template, context)


def request_limit() -> int:
    return int(settings.INTEGRATIONS_IMPORT_MAX_BYTES)


# Audience export -------------------------------------------------------------------------


@admin.register(AudienceExport)
class AudienceExportAdmin(_ReadOnlyHistory):
    list_display = ("created_at", "created_by", "row_count", "segment")

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.AudienceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            leads = selectors.audience_leads(
                filters=form.filters(),
                user=request.user,
                behaviour=form.cleaned_data["behaviour"] or "",
                days=form.cleaned_data["days"] or 7,
                consented_only=form.cleaned_data["consented_only"],
            )
            record_audience_export(
                user=signed_in(request.user), segment=form.segment(), row_count=leads.count()
            )
            response = StreamingHttpResponse(
                selectors.hashed_audience_csv(leads), content_type="text/csv; charset=utf-8"
            )
            stamp = timezone.now().strftime("%Y%m%d-%H%M")
            response["Content-Disposition"] = f'attachment; filename="audience-{stamp}.csv"'
            # Streamed: the admin returns any response, the stubs' add_view says HttpResponse.
            return response  # type: ignore[return-value]
        context = self._context(request, "Export a retargeting audience", form=form)
        return TemplateResponse(request, "integrations/admin/audience_form.html", context)


# Ad audiences ----------------------------------------------------------------------------


class AudienceSyncRunInline(admin.TabularInline[AudienceSyncRun, AudienceSync]):
    """The sync log: the latest runs, newest first."""

    model = AudienceSyncRun
    fields = ("started_at", "trigger", "status", "added", "removed", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-started_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AudienceSyncRun]:
        return super().get_queryset(request).order_by("-started_at")


@admin.register(AudienceSync)
class AudienceSyncAdmin(admin.ModelAdmin[AudienceSync]):
    list_display = (
        "segment",
        "platform",
        "audience_id",
        "enabled",
        "last_synced_at",
        "last_result",
    )
    list_filter = ("platform", "enabled")
    fields = (
        "segment",
        "platform",
        "audience_id",
        "enabled",
        "consented_only",
        "last_synced_at",
        "members_held",
    )
    readonly_fields = ("last_synced_at", "members_held")
    inlines = [AudienceSyncRunInline]
    actions = ["sync_now"]
    change_form_template = "integrations/admin/audience_sync_change_form.html"

    @admin.display(description="Last run")
    def last_result(self, obj: AudienceSync) -> str:
        run = obj.runs.order_by("-started_at").first()
        if run is None:
            return "never"
        if run.status == AudienceSyncRun.Status.FAILED:
            return f"failed: {run.error[:80]}"
        return f"{run.get_status_display()}: +{run.added} / −{run.removed}"

    @admin.display(description="People on the platform")
    def members_held(self, obj: AudienceSync) -> int:
        return obj.members.count() if obj.pk else 0

    def _queue(self, request: HttpRequest, syncs: list[AudienceSync]) -> None:
        for sync in syncs:
            tasks.sync_audience.delay(sync.pk, "manual")
        names = ", ".join(str(sync) for sync in syncs)
        self.message_user(
            request, f"Sync started: {names}. The log below shows the result.", messages.SUCCESS
        )

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[AudienceSync]) -> None:
        self._queue(request, list(queryset))

    def response_change(self, request: HttpRequest, obj: AudienceSync) -> HttpResponse:
        if "_sync_now" in request.POST:
            self._queue(request, [obj])
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


# Privacy requests ------------------------------------------------------------------------


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(_ReadOnlyHistory):
    list_display = ("created_at", "kind", "lead_id", "lead_uid", "actor", "reason", "completed_at")
    list_filter = ("kind",)
    search_fields = ("=lead_uid", "=lead_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FULFIL)

    def get_urls(self) -> list[URLPattern]:
        erase = self.admin_site.admin_view(self.erase_view)
        return [
            path("erase/<int:lead_id>/", erase, name="integrations_privacyrequest_erase"),
            *super().get_urls(),
        ]

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Click one: the address and the kind. An export downloads at once; an erasure
        asks for confirmation (click two)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.PrivacyRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            lead = form.lead
            if lead is None:  # clean_email refuses an address without a lead
                raise ValueError("a valid privacy request form has its lead")
            if form.cleaned_data["kind"] == PrivacyRequest.Kind.EXPORT:
                data = privacy.export_lead_data(lead_id=lead.pk, actor=signed_in(request.user))
                response = JsonResponse(data, json_dumps_params={"indent": 2})
                response["Content-Disposition"] = f'attachment; filename="lead-{lead.uid}.json"'
                return response
            return self._confirm(request, lead=lead, reason=form.cleaned_data["reason"])
        context = self._context(request, "Fulfil a privacy request", form=form)
        return TemplateResponse(request, "integrations/admin/privacy_form.html", context)

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def erase_view(self, request: HttpRequest, lead_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        lead = get_object_or_404(Lead, pk=lead_id)
        form = forms.EraseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            privacy.erase_lead(
                lead_id=lead.pk, actor=signed_in(request.user), reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"Lead {lead.uid} was erased and its address suppressed.")
            return HttpResponseRedirect(reverse("admin:integrations_privacyrequest_changelist"))
        return self._confirm(request, lead=lead, reason="")

    def _confirm(self, request: HttpRequest, *, lead: Lead, reason: str) -> HttpResponse:
        context = self._context(
            request,
            "Erase this lead?",
            lead=lead,
            reason=reason,
            already=privacy.is_erased(lead),
            counts={
                "submissions": lead.submissions.count(),
                "activities": lead.activities.count(),
                "notes": lead.notes.count(),
                "enrollments": lead.enrollments.count(),
            },
        )
        return TemplateResponse(request, "integrations/admin/privacy_confirm.html", context)
