import base64
import csv
import json
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from capture import page_checks
from capture.branding import PRESETS
from capture.forms import CaptureForm
from capture.models import Activity, Brand, Campaign, LandingPage, Lead, Submission
from capture.pages import page_context
from capture.selectors import landing_pages_with_counts, lead_export_rows
from capture.validators import image_type, normalise_phone


class PageCounts(TypedDict):
    """What `selectors.landing_pages_with_counts` annotates on each page of the list."""

    submission_count: int


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    PageRow = WithAnnotations[LandingPage, PageCounts]


class StoredImageInput(forms.ClearableFileInput):
    """The current image as a thumbnail instead of a link to the storage's URL: uploads are
    served by the pages' own image view (capture.views.page_image), not from MEDIA_URL."""

    template_name = "capture/widgets/stored_image.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["thumbnail"] = _inline_image(None, value) if value else ""
        return context


def _label_file_input(form: forms.BaseForm, name: str) -> None:
    """The admin draws a file field as a fieldset with a legend, which labels no input."""
    if name in form.fields:
        field = form.fields[name]
        field.widget = StoredImageInput(attrs={"aria-label": field.label})
        field.widget.is_required = field.required


# One control per lead field: whether the form asks it, and how. "Later" is progressive
# profiling: asked of a returning lead in place of a field it has already given.
FIELD_MODES = [
    ("hidden", "Hidden"),
    ("optional", "Optional"),
    ("required", "Required"),
    ("later", "Ask returning leads"),
]
MODE_FIELD_PREFIX = "ask_"


def _mode_field_name(field: str) -> str:
    return f"{MODE_FIELD_PREFIX}{field}"


def field_mode(page: LandingPage, field: str) -> str:
    if field in page.fields_required:
        return "required"
    if field in page.fields_shown:
        return "optional"
    return "later" if field in page.fields_later else "hidden"


class LandingPageAdminForm(forms.ModelForm[Any]):
    class Meta:
        model = LandingPage
        fields = (
            "kind",
            "title",
            "slug",
            "published",
            "campaign",
            "headline",
            "body",
            "cta_label",
            "testimonial",
            "testimonial_author",
            "brand",
            "hero_image",
            "hero_alt",
            "qualifying_question",
            "qualifying_choices",
            "consent_text",
            "form_note",
            "thank_you_text",
            "thank_you_note",
            "next_step_label",
            "next_step_url",
            "redirect_url",
            "embed_origins",
            "double_opt_in",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        preset = PRESETS.get(self.initial.get("kind", ""), {}) if not self.instance.pk else {}
        preset_modes: dict[str, str] = preset.get("fields", {})  # type: ignore[assignment]
        for value, _ in LandingPage.Field.choices:
            mode = field_mode(self.instance, value) if self.instance.pk else "hidden"
            self.fields[_mode_field_name(value)].initial = preset_modes.get(value, mode)
        _label_file_input(self, "hero_image")
        if "kind" in self.fields and not self.instance.pk:
            # landing-admin.js fills a new page's copy and fields from the type chosen.
            self.fields["kind"].widget.attrs["data-presets"] = json.dumps(PRESETS)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        modes = {
            value: cleaned.get(_mode_field_name(value)) or "hidden"
            for value, _ in LandingPage.Field.choices
        }
        # Assigned here, before the model's own validation: the preview renders the same.
        self.instance.fields_shown = [f for f, m in modes.items() if m in ("optional", "required")]
        self.instance.fields_required = [f for f, m in modes.items() if m == "required"]
        self.instance.fields_later = [f for f, m in modes.items() if m == "later"]
        if cleaned.get("qualifying_question") and not cleaned.get("qualifying_choices", "").strip():
            self.add_error("qualifying_choices", "Give at least one answer for the question.")
        return cleaned


# Declared on the class, not per form, so the admin's fieldsets may name them.
for _value, _label in LandingPage.Field.choices:
    _mode = forms.ChoiceField(label=_label, choices=FIELD_MODES, initial="hidden", required=False)
    LandingPageAdminForm.base_fields[_mode_field_name(_value)] = _mode
    LandingPageAdminForm.declared_fields[_mode_field_name(_value)] = _mode


def _inline_image(upload: Any, stored: Any) -> str:
    """An image as a data: URL for the preview (no request from its sandboxed frame would
    carry the marketer's login, and an upload not yet saved has no URL at all)."""
    try:
        if isinstance(upload, UploadedFile):
            upload.seek(0)
            content = upload.read(settings.CAPTURE_IMAGE_MAX_BYTES + 1)
        elif upload is not False and stored:
            with stored.storage.open(stored.name, "rb") as file:
                content = file.read(settings.CAPTURE_IMAGE_MAX_BYTES + 1)
        else:
            return ""
    except OSError:
        return ""
    mime = image_type(content[:12])
    if not mime or len(content) > settings.CAPTURE_IMAGE_MAX_BYTES:
        return ""
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin[LandingPage]):
    form = LandingPageAdminForm
    # Short columns, so the list fits a 1366 px screen: the slug under the title, views and
    # submissions in the conversion column, the campaign as a filter.
    list_display = ("page_title", "kind", "published", "conversion_rate", "open_link")
    list_filter = ("published", "kind", "campaign")
    search_fields = ("title", "slug", "headline")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("live_preview", "preview_link", "embed_snippet", "view_count")
    fieldsets = (
        (None, {"fields": ("kind", "title", "slug", "published", "campaign", "preview_link")}),
        ("Live preview", {"fields": ("live_preview",), "classes": ("lf-preview-fieldset",)}),
        (
            "Copy",
            {"fields": ("headline", "body", "cta_label", "testimonial", "testimonial_author")},
        ),
        ("Branding", {"fields": ("brand", "hero_image", "hero_alt")}),
        (
            "Form",
            {
                "fields": (
                    *[_mode_field_name(value) for value, _ in LandingPage.Field.choices],
                    "qualifying_question",
                    "qualifying_choices",
                    "consent_text",
                    "form_note",
                ),
                "description": "Every page asks the email. For each other field: hidden, "
                "optional, required, or asked only of returning leads in place of the "
                "fields they have already given.",
            },
        ),
        (
            "After submitting",
            {
                "fields": (
                    "thank_you_text",
                    "thank_you_note",
                    "next_step_label",
                    "next_step_url",
                    "redirect_url",
                    "double_opt_in",
                )
            },
        ),
        ("Embedding", {"fields": ("embed_origins", "embed_snippet")}),
    )

    class Media:
        css = {"all": ("leadfunnel/landing-admin.css",)}
        js = ("leadfunnel/landing-admin.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LandingPage]:
        return landing_pages_with_counts().select_related("campaign")

    def save_model(self, request: HttpRequest, obj: LandingPage, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Settings that promise what nothing will do (page_checks: a double opt-in no
        # journey starts from), said beside the "saved" message.
        for warning in page_checks.warnings_for(obj):
            messages.warning(request, warning)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new page starts from a preset (?kind=download), a consultation by default."""
        initial = super().get_changeform_initial_data(request)
        kind = initial.get("kind")
        kind = kind if kind in PRESETS else LandingPage.Kind.CONSULTATION
        preset = {k: v for k, v in PRESETS[kind].items() if k != "fields"}
        return {**preset, **initial, "kind": kind}

    def get_urls(self) -> list[URLPattern]:
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="capture_landingpage_preview"),
            path("<path:object_id>/preview/", preview, name="capture_landingpage_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        """The page as the form now describes it, rendered and never saved.

        POST (CSRF-checked like every admin form) with the change form's fields and files.
        Fields that do not validate yet keep their saved (or default) value and are listed
        above the preview, so the marketer sees both.
        """
        page = self.get_object(request, object_id) if object_id else None
        if object_id and page is None:
            raise Http404("No such page")
        if not (
            self.has_change_permission(request, page) if page else self.has_add_permission(request)
        ):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        stored_hero = page.hero_image if page else None
        form_class = self.get_form(request, page)
        form = form_class(request.POST, request.FILES, instance=page or LandingPage())
        form.is_valid()  # fills form.instance from every valid field; saves nothing
        preview = form.instance
        brand = preview.brand if preview.brand_id else Brand.objects.filter(is_default=True).first()
        images = {
            "hero": _inline_image(
                None if "hero_image" in form.errors else form.cleaned_data.get("hero_image"),
                stored_hero,
            ),
            "logo": _inline_image(None, brand.logo if brand and brand.logo else None),
        }
        context = {
            **page_context(page=preview, brand=brand, image_urls=images),
            "form": CaptureForm(page=preview),
            "static_preview": True,
            "preview_errors": [
                f"{form.fields[name].label if name in form.fields else 'Page'}: {error}"
                for name, errors in form.errors.items()
                for error in errors
            ],
        }
        response = render(request, "capture/preview.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="Page", ordering="title")
    def page_title(self, page: LandingPage) -> str:
        return format_html("{}<br><small>/l/{}/</small>", page.title, page.slug)

    @admin.display(description="Submissions / views", ordering="submission_count")
    def conversion_rate(self, page: "PageRow") -> str:
        if not page.view_count:
            return f"{page.submission_count} / 0"
        rate = 100 * page.submission_count / page.view_count
        return f"{page.submission_count} / {page.view_count} · {rate:.1f}%"

    @admin.display(description="Link")
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
            return "The live preview shows the page as you type; save it to open it here."
        return self.open_link(page)

    @admin.display(description="As you type")
    def live_preview(self, page: LandingPage) -> str:
        url = (
            reverse("admin:capture_landingpage_preview", kwargs={"object_id": page.pk})
            if page.pk
            else reverse("admin:capture_landingpage_preview")
        )
        # sandbox: no scripts, no form submission, no navigation of the admin from inside.
        return format_html(
            '<div class="lf-live-preview" data-preview-url="{}">'
            '<p class="lf-preview-status help" role="status">Not saved: this preview follows '
            "the form as you type.</p>"
            '<div class="lf-preview-sizes" role="group" aria-label="Preview size">'
            '<button type="button" class="button" data-width="" aria-pressed="true">Fit</button> '
            '<button type="button" class="button" data-width="390" aria-pressed="false">Phone'
            '</button> <button type="button" class="button" data-width="1366" '
            'aria-pressed="false">Laptop</button></div>'
            '<div class="lf-preview-viewport">'
            '<iframe title="Live preview of the landing page" sandbox="allow-same-origin" '
            'class="lf-preview-frame"></iframe></div></div>',
            url,
        )

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
            '<textarea readonly rows="3" cols="80" class="lf-snippet" aria-label="Embed snippet">'
            '{}</textarea><p class="help">Paste this into your site; list the '
            "site's origin under “sites allowed to embed the form”.</p>",
            snippet,
        )


class BrandAdminForm(forms.ModelForm[Any]):
    class Meta:
        model = Brand
        fields = ("name", "logo", "primary_color", "background_color", "is_default")
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "background_color": forms.TextInput(attrs={"type": "color"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _label_file_input(self, "logo")


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin[Brand]):
    form = BrandAdminForm

    class Media:
        css = {"all": ("leadfunnel/landing-admin.css",)}

    list_display = ("name", "primary_color", "background_color", "is_default")
    fields = ("name", "logo", "primary_color", "background_color", "is_default")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = ("name", "channel", "utm_campaign", "spend", "currency", "starts_on", "ends_on")
    list_filter = ("channel",)
    search_fields = ("name", "utm_campaign")


class SubmissionInline(admin.TabularInline[Any, Any]):
    model = Submission
    fields = ("created_at", "landing_page", "utm_source", "utm_medium", "utm_campaign")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


class ActivityInline(admin.TabularInline[Any, Any]):
    model = Activity
    fields = ("occurred_at", "kind", "metadata")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class LeadAdminForm(forms.ModelForm[Any]):
    class Meta:
        model = Lead
        fields = ("phone", "country")  # the admin adds the rest it shows

    def clean(self) -> dict[str, Any]:
        """The phone rule every way in shares (capture.validators)."""
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("phone"):
            try:
                cleaned["phone"] = normalise_phone(
                    cleaned["phone"], country=str(cleaned.get("country") or "")
                )
            except forms.ValidationError as error:
                self.add_error("phone", error)
        return cleaned


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin[Lead]):
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
class SubmissionAdmin(admin.ModelAdmin[Submission]):
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
