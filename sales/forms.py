"""Parsing the dashboard's filters and the metrics' date range (GET forms)."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.http import QueryDict

from capture.models import Campaign, Lead
from sales import lead_sets
from sales.selectors import DashboardFilters
from sales.selectors.dashboard import ANY_STAGE, CLOSED, OPEN
from sales.services.tasks import NOTE_MAX, TITLE_MAX

MAX_METRICS_DAYS = 731
DEFAULT_DUE_TIME = time(9)


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


ALL_STAGES = "all"


def _stage_filter(choice: str) -> str:
    if choice == ALL_STAGES:
        return ANY_STAGE
    return choice or OPEN


class DashboardFilterForm(forms.Form):
    q = forms.CharField(label="Search", max_length=200, required=False)
    temperature = forms.ChoiceField(
        choices=[("", "Any temperature"), *Lead.Temperature.choices], required=False
    )
    # Open leads unless asked: won and lost ones are done with, not work (as a CRM's views).
    stage = forms.ChoiceField(
        choices=[
            ("", "Open (not won or lost)"),
            (CLOSED, "Closed (won or lost)"),
            (ALL_STAGES, "Any stage"),
            *Lead.Stage.choices,
        ],
        required=False,
    )
    owner = forms.ChoiceField(
        choices=[("", "Anyone's"), ("mine", "Mine"), ("unassigned", "Unassigned")],
        required=False,
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name").only("pk", "name"),
        required=False,
        empty_label="Any campaign",
    )
    source = forms.CharField(max_length=100, required=False)
    created_from = forms.DateField(label="Created from", required=False)
    created_to = forms.DateField(label="Created to", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sets = lead_sets.provider()
        if sets is not None:
            # A segment (registered by the segments app): one more select, only then.
            self.fields["in_set"] = forms.ChoiceField(
                label=sets.label, choices=[("", sets.any_label), *sets.choices()], required=False
            )
        for bound in self.fields.values():
            select = isinstance(bound.widget, forms.Select)
            bound.widget.attrs["class"] = (
                "form-select form-select-sm" if select else ("form-control form-control-sm")
            )
            if isinstance(bound, forms.DateField):
                bound.widget.input_type = "date"
        self.fields["q"].widget.attrs["placeholder"] = "Name, email or company"
        self.fields["source"].widget.attrs["placeholder"] = "utm_source"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError("“Created from” must not be after “Created to”.")
        return cleaned

    def filters(self, *, zone: ZoneInfo) -> DashboardFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start, end = data.get("created_from"), data.get("created_to")
        campaign = data.get("campaign")
        return DashboardFilters(
            temperature=data.get("temperature", ""),
            stage=_stage_filter(data.get("stage", "")),
            owner=data.get("owner", ""),
            campaign_id=campaign.pk if campaign else None,
            source=data.get("source", "").strip(),
            created_from=_start_of(start, zone) if start else None,
            created_before=_start_of(end + timedelta(days=1), zone) if end else None,
            search=data.get("q", "").strip(),
            lead_set=data.get("in_set", ""),
        )

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)


class MetricsForm(forms.Form):
    date_from = forms.DateField(label="From")
    date_to = forms.DateField(label="To")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            bound.widget.input_type = "date"
            bound.widget.attrs["class"] = "form-control form-control-sm"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if start > end:
                raise forms.ValidationError("“From” must not be after “To”.")
            if (end - start).days >= MAX_METRICS_DAYS:
                raise forms.ValidationError("Choose at most two years.")
        return cleaned

    def window(self, *, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start, end = self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        return _start_of(start, zone), _start_of(end + timedelta(days=1), zone)


class TaskForm(forms.Form):
    """The lead page's "Add a task": a title and a due date and time in the rep's zone."""

    title = forms.CharField(
        max_length=TITLE_MAX,
        error_messages={
            "required": "Give the task a title.",
            "max_length": f"Keep the title under {TITLE_MAX} characters.",
        },
    )
    # ISO only, as <input type="date"> sends it: "11/03/2026" is not guessed at.
    due_date = forms.DateField(
        label="Due date",
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": "Choose the day the task is due.",
            "invalid": "Enter the due date as YYYY-MM-DD.",
        },
    )
    due_time = forms.TimeField(
        label="Due time",
        input_formats=["%H:%M", "%H:%M:%S"],
        required=False,
        error_messages={"invalid": "Enter the due time as HH:MM."},
    )
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": f"Keep the note under {NOTE_MAX} characters."},
    )

    def due_at(self, *, zone: ZoneInfo) -> datetime:
        """When it is due, in the rep's zone (9:00 when no time was given)."""
        moment = self.cleaned_data["due_time"] or DEFAULT_DUE_TIME
        return datetime.combine(self.cleaned_data["due_date"], moment, tzinfo=zone)

    def error_text(self) -> str:
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class SavedViewForm(forms.Form):
    """Save the dashboard's current filters under a name (the query string is re-checked by
    the filter form: only its own fields are kept, and only valid values)."""

    name = forms.CharField(label="Name this view", max_length=100)
    shared = forms.BooleanField(label="Share with the team", required=False)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)

    def clean_query(self) -> str:
        given = QueryDict(self.cleaned_data.get("query") or "")
        filters = DashboardFilterForm(given)
        if not filters.is_valid():
            problems = "; ".join(str(e) for errors in filters.errors.values() for e in errors)
            raise forms.ValidationError(f"These filters are not valid: {problems}")
        kept = QueryDict(mutable=True)
        for name in filters.fields:
            if given.get(name):
                kept[name] = given[name]
        if not kept:
            raise forms.ValidationError("Choose some filters first: this view would show all.")
        return kept.urlencode()
