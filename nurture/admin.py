from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_protect

from capture.models import Lead
from leadfunnel.auth import signed_in
from nurture.admin_figures import AdminFiguresMedia, email_counts, email_rates, rate_bar
from nurture.models import (
    Delivery,
    Enrollment,
    Sequence,
    SmsMessage,
    SmsSuppression,
    Step,
    Suppression,
)
from nurture.selectors import PREVIEW_CHOICES, is_suppressed, mailable_leads, step_figures
from nurture.sequence_forms import SequenceForm
from nurture.services import exiting
from nurture.services.composing import build_preview, build_test_message, sample_lead
from nurture.services.steps import remove_step, step_saved
from nurture.validators import email_content_errors


class SequenceFigures(TypedDict):
    """What `SequenceAdmin.get_queryset` annotates on each day list of the list."""

    step_count: int
    active_enrollments: int
    emails_sent: int
    emails_opened: int
    emails_clicked: int
    emails_converted: int


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    SequenceRow = WithAnnotations[Sequence, SequenceFigures]


class StepForm(forms.ModelForm[Step]):
    only_temperatures = forms.MultipleChoiceField(
        choices=Lead.Temperature.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Only to leads that are",
        help_text="None ticked: every lead.",
    )

    class Meta:
        model = Step
        fields = (
            "day",
            "subject",
            "preheader",
            "body",
            "cta_label",
            "cta_url",
            "only_temperatures",
            "click_condition",
            "is_active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only a journey's email step has no day; a day list's step is scheduled by it.
        self.fields["day"].required = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        errors = email_content_errors(cleaned.get)
        if errors:
            self.add_error(None, errors)
        return cleaned


class StepInline(admin.StackedInline[Step, Sequence]):
    model = Step
    form = StepForm
    extra = 0
    readonly_fields = ("figures", "preview_link")
    ordering = ("day",)

    @admin.display(description="So far")
    def figures(self, step: Step) -> str:
        if not step.pk:
            return "—"
        figures = step_figures(step_id=step.pk)
        converted = Delivery.objects.filter(step_id=step.pk).aggregate(
            n=email_counts()["converted"]
        )["n"]
        rest = {k: v for k, v in figures.items() if k not in ("sent", "opened", "clicked") and v}
        return format_html(
            "{}{}",
            email_rates({**figures, "converted": converted}),
            format_html(
                '<div class="lf-figures-rest">{}</div>',
                format_html_join(" · ", "{}: {}", rest.items()),
            )
            if rest
            else "",
        )

    @admin.display(description="Preview")
    def preview_link(self, step: Step) -> str:
        if not step.pk:
            return "Save to preview."
        url = reverse("admin:nurture_step_preview", args=[step.pk])
        return format_html('<a href="{}">Preview and send a test</a>', url)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin[Sequence]):
    # Typed, not subscripted: at run time SequenceForm[Sequence] is a typing alias, not a form.
    form: type[SequenceForm[Sequence]] = SequenceForm
    inlines = (StepInline,)
    list_display = (
        "name",
        "status",
        "step_count",
        "active_enrollments",
        "sent",
        "open_rate",
        "click_rate",
        "conversion",
        "hands_to_sales",
    )
    list_filter = ("status",)
    filter_horizontal = ("entry_pages",)
    readonly_fields = ("timeline", "step_figures_table")
    Media = AdminFiguresMedia
    fieldsets = (
        (None, {"fields": ("name", "status", "topic", "entry_pages", "timeline")}),
        ("How each step does", {"fields": ("step_figures_table",)}),
        (
            "When to send",
            {"fields": ("window_start_hour", "window_end_hour", "weekdays", "fallback_time_zone")},
        ),
        ("Exits and tracking", {"fields": ("hand_hot_leads_to_sales", "track_engagement")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sequence]:
        # Journeys (graphs) have their own admin (admin_journeys); this one keeps day lists.
        # The email figures are one grouped subquery each, not a join multiplying the rows.
        def emails(name: str) -> Coalesce:
            counts = (
                Delivery.objects.filter(step__sequence=OuterRef("pk"))
                .values("step__sequence")
                .annotate(n=email_counts()[name])
                .values("n")
            )
            return Coalesce(Subquery(counts), 0)

        return Sequence.objects.filter(kind=Sequence.Kind.DAYS).annotate(
            step_count=Count("steps", distinct=True),
            active_enrollments=Count(
                "enrollments", filter=Q(enrollments__state=Enrollment.State.ACTIVE), distinct=True
            ),
            **{
                f"emails_{name}": emails(name)
                for name in ("sent", "opened", "clicked", "converted")
            },
        )

    @admin.display(description="Sent", ordering="emails_sent")
    def sent(self, sequence: "SequenceRow") -> int:
        return sequence.emails_sent

    # A short heading, so the row of figures fits a 1366 px screen.
    @admin.display(description="To sales", boolean=True, ordering="hand_hot_leads_to_sales")
    def hands_to_sales(self, sequence: Sequence) -> bool:
        return sequence.hand_hot_leads_to_sales

    @admin.display(description="Open rate")
    def open_rate(self, sequence: "SequenceRow") -> str:
        return rate_bar(sequence.emails_opened, sequence.emails_sent, label="opened")

    @admin.display(description="Click rate")
    def click_rate(self, sequence: "SequenceRow") -> str:
        return rate_bar(sequence.emails_clicked, sequence.emails_sent, label="clicked")

    @admin.display(description="Conversion")
    def conversion(self, sequence: "SequenceRow") -> str:
        return rate_bar(sequence.emails_converted, sequence.emails_sent, label="reached the goal")

    @admin.display(description="Per step")
    def step_figures_table(self, sequence: Sequence) -> str:
        """Every step's rates in one small table at the top (one grouped query), so nobody
        scrolls through each step's form to compare them."""
        steps = list(sequence.steps.order_by("day", "pk")) if sequence.pk else []
        if not steps:
            return "No steps yet."
        counts = {
            row["step_id"]: row
            for row in Delivery.objects.filter(step__sequence=sequence)
            .values("step_id")
            .annotate(**email_counts())
            .order_by()
        }
        rows = []
        for step in steps:
            figures: Mapping[str, Any] = counts.get(step.pk, {})
            sent = figures.get("sent", 0)
            rows.append(
                (
                    step.day,
                    step.subject,
                    "" if step.is_active else " (off)",
                    sent,
                    rate_bar(figures.get("opened", 0), sent, label="opened"),
                    rate_bar(figures.get("clicked", 0), sent, label="clicked"),
                    rate_bar(figures.get("converted", 0), sent, label="reached the goal"),
                )
            )
        return format_html(
            '<table class="lf-step-figures" id="step-figures"><thead><tr><th scope="col">Step</th>'
            '<th scope="col">Sent</th><th scope="col">Open rate</th><th scope="col">Click rate'
            '</th><th scope="col">Conversion</th></tr></thead><tbody>{}</tbody></table>',
            format_html_join(
                "",
                '<tr><th scope="row">Day {} · {}{}</th><td>{}</td><td>{}</td><td>{}</td>'
                "<td>{}</td></tr>",
                rows,
            ),
        )

    @admin.display(description="Steps", ordering="step_count")
    def step_count(self, sequence: "SequenceRow") -> int:
        return sequence.step_count

    @admin.display(description="Active leads", ordering="active_enrollments")
    def active_enrollments(self, sequence: "SequenceRow") -> int:
        return sequence.active_enrollments

    @admin.display(description="Timeline")
    def timeline(self, sequence: Sequence) -> str:
        steps = list(sequence.steps.order_by("day")) if sequence.pk else []
        if not steps:
            return "Add steps below."
        return format_html(
            '<ol class="lf-timeline" style="margin:0;padding-left:1.2em">{}</ol>',
            format_html_join(
                "",
                "<li><strong>Day {}</strong> — {}{}</li>",
                ((s.day, s.subject, "" if s.is_active else " (off)") for s in steps),
            ),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Steps change through nurture.services.steps, as the API changes them: the same
        row lock (the admin's view runs in one transaction) and the same rescheduling."""
        if formset.model is not Step:
            return super().save_formset(request, form, formset, change)
        steps = formset.save(commit=False)
        for step in formset.deleted_objects:
            if not remove_step(step_id=step.pk):
                # Its sent emails are history a marketer still wants to see: switched off.
                messages.info(request, f"“{step}” was already sent, so it is now off instead.")
        for step in steps:
            was_active = step.pk is not None and (
                Step.objects.select_for_update().get(pk=step.pk).is_active
            )
            step.save()
            step_saved(step=step, was_active=was_active)
        formset.save_m2m()
        return None


@admin.register(Step)
class StepAdmin(admin.ModelAdmin[Step]):
    """Steps are edited inline on their sequence; this admin adds preview and test-send."""

    list_display = ("__str__", "sequence", "is_active")
    list_filter = ("sequence",)
    form = StepForm

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}  # hidden from the index: edited on the sequence

    def get_urls(self) -> list[Any]:
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:step_id>/preview/", preview, name="nurture_step_preview"),
            *super().get_urls(),
        ]

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, untyped in the stubs
    def preview_view(self, request: HttpRequest, step_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        step = get_object_or_404(Step.objects.select_related("sequence"), pk=step_id)
        data = request.POST if request.method == "POST" else request.GET
        search = data.get("q", "").strip()[:100]
        lead, refusal = _preview_lead(data.get("lead", ""))
        context = {
            **self.admin_site.each_context(request),
            "step": step,
            "lead": lead,
            "search": search,
            "title": f"Preview: {step}",
            "opts": Step._meta,
            "candidates": mailable_leads(search=search)[:PREVIEW_CHOICES] if search else [],
            "refusal": refusal,
        }
        if refusal:
            # Nothing is rendered or sent for a lead that may not be mailed.
            return TemplateResponse(request, "admin/nurture/step_preview.html", context, status=400)
        if request.method == "POST":
            address = signed_in(request.user).email
            if not self.has_change_permission(request) or not address:
                messages.error(request, "Add an email address to your account to get tests.")
            else:
                build_test_message(step=step, lead=lead, to=address).send()
                messages.success(request, f"Test sent to {address}.")
            chosen = f"?lead={lead.pk}" if lead.pk else ""
            return redirect(request.path + chosen)
        context["message"] = build_preview(step=step, lead=lead)
        return TemplateResponse(request, "admin/nurture/step_preview.html", context)


def _preview_lead(lead_id: str) -> tuple[Lead, str]:
    """The lead a marketer chose to preview for (default: the fictional sample), or the
    sample and why the chosen one is refused."""
    if not lead_id:
        return sample_lead(), ""
    # ASCII digits that fit a bigint: anything else is no lead, not a database error.
    well_formed = lead_id.isascii() and lead_id.isdigit() and len(lead_id) <= 18
    chosen = Lead.objects.filter(pk=int(lead_id)).first() if well_formed else None
    if chosen is None:
        return sample_lead(), "There is no such lead. Search for one by email or name."
    if is_suppressed(email=chosen.email):
        return sample_lead(), (
            f"{chosen.email} is suppressed (unsubscribed, bounced or erased): no email is "
            "previewed or sent for this lead. Choose another, or the sample lead."
        )
    return chosen, ""


class DeliveryInline(admin.TabularInline[Delivery, Enrollment]):
    model = Delivery
    fields = (
        "step",
        "due_at",
        "status",
        "attempts",
        "sent_at",
        "opened_at",
        "clicked_at",
        "last_error",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("due_at",)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin[Enrollment]):
    list_display = ("lead", "sequence", "state", "exit_reason", "started_at", "ended_at")
    list_filter = ("state", "sequence", "exit_reason")
    search_fields = ("lead__email",)
    list_select_related = ("lead", "sequence")
    readonly_fields = ("lead", "sequence", "state", "exit_reason", "started_at", "ended_at")
    inlines = (DeliveryInline,)
    actions = ("stop",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Stop the selected enrollments")
    def stop(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        for enrollment in queryset.filter(state=Enrollment.State.ACTIVE):
            exiting.exit_enrollments(
                lead_id=enrollment.lead_id,
                reason=Enrollment.ExitReason.MANUAL,
                sequence_id=enrollment.sequence_id,
            )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = ("enrollment", "step", "due_at", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status", "step__sequence")
    search_fields = ("enrollment__lead__email",)
    list_select_related = ("enrollment__lead", "enrollment__sequence", "step")
    date_hierarchy = "due_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Delivery | None = None) -> list[str]:
        return [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin[Suppression]):
    list_display = ("email", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(SmsSuppression)
class SmsSuppressionAdmin(admin.ModelAdmin[SmsSuppression]):
    list_display = ("phone", "reason", "keyword", "created_at")
    list_filter = ("reason",)
    search_fields = ("phone",)


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin[SmsMessage]):
    """The record of each text: written by nurture.services.sms and Twilio's callbacks only."""

    list_display = ("created_at", "lead", "to_number", "status", "refusal", "segments")
    list_filter = ("status", "refusal")
    search_fields = ("lead__email", "to_number", "twilio_sid")
    list_select_related = ("lead",)
    raw_id_fields = ("lead",)

    def get_readonly_fields(self, request: HttpRequest, obj: SmsMessage | None = None) -> list[str]:
        return [field.name for field in SmsMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SmsMessage | None = None) -> bool:
        return False


# Journeys, and topics with the consent log, have their own admin modules (registered on import).
from nurture import admin_journeys, admin_topics  # noqa: E402, F401
