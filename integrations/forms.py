from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from capture.models import Campaign, Lead
from capture.services import normalise_email
from integrations.models import LeadImport, PrivacyRequest
from integrations.selectors import Behaviour
from integrations.services.importing import FIELDS
from nurture.models import Sequence
from sales.selectors.dashboard import DashboardFilters

DEFAULT_CONSENT_TEXT = (
    "Imported from a list of people who agreed to be contacted by us about our products."
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (Excel's “CSV UTF-8”), comma, semicolon or tab separated, "
        "the first row naming the columns.",
    )


class MappingForm(forms.Form):
    """One select per CSV column, then the options of the import."""

    dedupe = forms.ChoiceField(
        label="Leads already in the database",
        choices=LeadImport.Dedupe.choices,
        initial=LeadImport.Dedupe.FILL_EMPTY,
    )
    sequence = forms.ModelChoiceField(
        queryset=Sequence.objects.filter(status=Sequence.Status.ACTIVE),
        required=False,
        empty_label="Do not enroll",
        help_text="Enroll every lead of the file (new or existing) in this sequence.",
    )
    consent = forms.BooleanField(
        label="These people agreed to be contacted",
        help_text="Required: an import records consent on every lead, as the forms do.",
    )
    consent_text = forms.CharField(
        label="What they agreed to",
        widget=forms.Textarea(attrs={"rows": 2}),
        initial=DEFAULT_CONSENT_TEXT,
        max_length=2000,
        help_text="Stored on each lead as its consent text.",
    )

    def __init__(self, *args: Any, lead_import: LeadImport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead_import = lead_import
        choices = [("", "— ignore —"), *FIELDS.items()]
        self.columns: list[tuple[str, str]] = []
        for index, header in enumerate(lead_import.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=lead_import.mapping.get(header, ""),
            )
            self.columns.append((name, header))
        if lead_import.status != LeadImport.Status.UPLOADED:
            self.initial.update(
                {
                    "dedupe": lead_import.dedupe,
                    "sequence": lead_import.sequence_id,
                    "consent": lead_import.consent_confirmed,
                    "consent_text": lead_import.consent_text or DEFAULT_CONSENT_TEXT,
                }
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _header in self.columns]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        chosen = [cleaned[name] for name, _header in self.columns if cleaned.get(name)]
        if "email" not in chosen:
            raise ValidationError("Choose the column that holds the email address.")
        repeated = sorted({FIELDS[name] for name in chosen if chosen.count(name) > 1})
        if repeated:
            raise ValidationError(f"Each field takes one column: {', '.join(repeated)}.")
        return cleaned

    @property
    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data[name] for name, header in self.columns}


class AudienceForm(forms.Form):
    """A segment: any of the dashboard's filters, plus recent behaviour."""

    temperature = forms.ChoiceField(
        choices=[("", "Any"), *Lead.Temperature.choices], required=False
    )
    stage = forms.ChoiceField(choices=[("", "Any"), *Lead.Stage.choices], required=False)
    owner = forms.ChoiceField(
        choices=[("", "Anyone"), ("mine", "Mine"), ("unassigned", "Unassigned")],
        required=False,
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.all(), required=False, empty_label="Any"
    )
    source = forms.CharField(required=False, max_length=100)
    created_from = forms.DateField(required=False, help_text="Captured on or after (UTC).")
    created_before = forms.DateField(required=False, help_text="Captured before (UTC).")
    search = forms.CharField(required=False, max_length=200)
    behaviour = forms.ChoiceField(choices=Behaviour.choices, required=False)
    days = forms.IntegerField(
        label="in the last … days", min_value=1, max_value=365, initial=7, required=False
    )
    consented_only = forms.BooleanField(
        label="Only leads who gave consent",
        required=False,
        initial=True,
        help_text="Leave out leads without a recorded consent.",
    )

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        campaign = data.get("campaign")
        return DashboardFilters(
            temperature=data.get("temperature") or "",
            stage=data.get("stage") or "",
            owner=data.get("owner") or "",
            campaign_id=campaign.pk if campaign else None,
            source=data.get("source") or "",
            created_from=_midnight(data.get("created_from")),
            created_before=_midnight(data.get("created_before")),
            search=data.get("search") or "",
        )

    def segment(self) -> dict[str, Any]:
        """The choices as plain data, for the audit row."""
        data = self.cleaned_data
        return {
            key: (value.pk if hasattr(value, "pk") else str(value) if value else value)
            for key, value in data.items()
            if value not in ("", None)
        }


def _midnight(day: Any) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=UTC)


class PrivacyRequestForm(forms.Form):
    email = forms.EmailField(label="The person's email address")
    kind = forms.ChoiceField(
        label="Request", choices=PrivacyRequest.Kind.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        help_text="E.g. the ticket number. Not the person's name or address.",
    )

    def clean_email(self) -> str:
        email = normalise_email(self.cleaned_data["email"])
        self.lead = Lead.objects.filter(email=email).first()
        if self.lead is None:
            raise ValidationError("No lead has this email address.")
        return email


class EraseForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)
