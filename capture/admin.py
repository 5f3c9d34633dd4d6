import csv
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils.html import format_html

from capture.models import Activity, Campaign, LandingPage, Lead, Submission
from capture.selectors import landing_pages_with_counts, lead_export_rows
from capture.validators import normalise_phone


class LandingPageAdminForm(forms.ModelForm):
    fields_shown = forms.MultipleChoiceField(
        choices=LandingPage.Field.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Fields asked besides the email, which every page asks.",
    )
    fields_required = forms.MultipleChoiceField(
        choices=LandingPage.Field.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = LandingPage
        fields = (
            "title", "slug", "published", "campaign", "headline", "body", "cta_label",
            "testimonial", "testimonial_author", "fields_shown", "fields_required",
            "qualifying_question", "qualifying_choices", "consent_text", "form_note",
            "thank_you_text", "thank_you_note", "redirect_url", "embed_origins", "double_opt_in",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        not_shown = set(cleaned.get("fields_required", [])) - set(cleaned.get("fields_shown", []))
        if not_shown:
            self.add_error("fields_required", "A required field must also be shown.")
        if cleaned.get("qualifying_question") and not cleaned.get("qualifying_choices", "").strip():
            self.add_error("qualifying_choices", "Give at least one answer for the question.")
        return cleaned


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    form = LandingPageAdminForm
    list_display = (
        "title",
        "slug",
        "published",
        "campaign",
        "view_count",
        "submissions",
        "conversion_rate",
        "open_link",
    )
    list_filter = ("published", "campaign")
    search_fields = ("title", "slug", "headline")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("preview_link", "embed_snippet", "view_count")
    fieldsets = (
        (None, {"fields": ("title", "slug", "published", "campaign", "preview_link")}),
        (
            "Copy",
            {"fields": ("headline", "body", "cta_label", "testimonial", "testimonial_author")},
        ),
        (
            "Form",
            {
                "fields": (
                    "fields_shown",
                    "fields_required",
                    "qualifying_question",
                    "qualifying_choices",
                    "consent_text",
                    "form_note",
                )
            },
        ),
        (
            "After submitting",
            {"fields": ("thank_you_text", "thank_you_note", "redirect_url", "double_opt_in")},
        ),
        ("Embedding", {"fields": ("embed_origins", "embed_snippet")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[LandingPage]:
        return landing_pages_with_counts().select_related("campaign")

    @admin.display(description="Submissions", ordering="submission_count")
    def submissions(self, page: LandingPage) -> int:
        return page.submission_count

    @admin.display(description="Conversion")
    def conversion_rate(self, page: LandingPage) -> str:
        if not page.view_count:
            return "—"
        return f"{100 * page.submission_count / page.view_count:.1f}%"

    @admin.display(description="Page")
    def open_link(self, page: LandingPage) -> str:
        url = reverse("capture:landing_page", kwargs={"slug": page.slug})
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            url,
            "open" if page.published else "preview",
        )

    @admin.display(description="Preview")
    def preview_link(self, page: LandingPage) -> str:
        if not page.pk:
            return "Save the page to preview it."
        return self.open_link(page)

    @admin.display(description="Embed snippet")
    def embed_snippet(self, page: LandingPage) -> str:
        if not page.pk:
            return "Save the page to get its snippet."
        url = settings.SITE_URL + reverse("capture:embed", kwargs={"slug": page.slug})
        snippet = (
            f'<iframe src="{url}" title="{page.title}" width="100%" height="640" '
            'style="border:0" loading="lazy"></iframe>'
        )
        return format_html(
            '<textarea readonly rows="3" cols="80" aria-label="Embed snippet">'
            '{}</textarea><p class="help">Paste this into your site; list the '
            "site's origin under “sites allowed to embed the form”.</p>",
            snippet,
        )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "utm_campaign", "spend", "currency", "starts_on", "ends_on")
    list_filter = ("channel",)
    search_fields = ("name", "utm_campaign")


class SubmissionInline(admin.TabularInline):
    model = Submission
    fields = ("created_at", "landing_page", "utm_source", "utm_medium", "utm_campaign")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


class ActivityInline(admin.TabularInline):
    model = Activity
    fields = ("occurred_at", "kind", "metadata")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = ("phone", "country")  # the admin adds the rest it shows

    def clean(self) -> dict[str, Any]:
        """The phone rule every way in shares (capture.validators)."""
        cleaned = super().clean()
        if cleaned.get("phone"):
            try:
                cleaned["phone"] = normalise_phone(
                    cleaned["phone"], country=str(cleaned.get("country") or "")
                )
            except forms.ValidationError as error:
                self.add_error("phone", error)
        return cleaned


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = (
        "email",
        "full_name",
        "company",
        "job_title",
        "stage",
        "temperature",
        "score",
        "source",
        "campaign",
        "created_at",
    )
    list_filter = ("stage", "temperature", "campaign", "source", "created_at")
    search_fields = ("email", "first_name", "last_name", "company")
    list_select_related = ("campaign", "owner")
    readonly_fields = (
        "uid",
        "score",
        "temperature",
        "consent_given_at",
        "consent_text",
        "sms_consent_given_at",
        "sms_consent_text",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("owner",)
    inlines = (SubmissionInline, ActivityInline)
    actions = ("export_csv",)
    date_hierarchy = "created_at"

    @admin.action(description="Export selected leads as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Lead]) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in lead_export_rows(leads=queryset)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="leads.csv"'
        return response


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "lead", "landing_page", "utm_source", "utm_campaign")
    list_filter = ("landing_page", "campaign", "utm_source")
    search_fields = ("lead__email",)
    list_select_related = ("lead", "landing_page")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Submission._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value
