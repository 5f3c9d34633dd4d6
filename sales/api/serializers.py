"""What the sales endpoints read and write; parsing only, no workflow."""

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from capture.models import Campaign, Lead
from capture.validators import normalise_phone, validate_person_name
from leadfunnel.zones import TIME_ZONE_HELP, is_time_zone
from sales.models import Note
from sales.selectors.lead import TimelineEntry
from sales.selectors.metrics import DailyChart, DailySeries, FunnelRow
from sales.services.leads import NOTE_MAX, REASON_MAX, WORKABLE_STAGES

MAX_METRICS_DAYS = 731
DEFAULT_METRICS_DAYS = 30
MAX_PAGE_SIZE = 200
MAX_TIMELINE = 200
_BIGINT = 2**63 - 1


def parse_zone(name: str) -> ZoneInfo:
    """An IANA zone (leadfunnel.zones' rule), or a ValidationError."""
    if not is_time_zone(name):
        raise serializers.ValidationError(TIME_ZONE_HELP)
    return ZoneInfo(name)


# Serializer[T]: T is what a serializer renders; Any for those that only parse a request.


class ScoreReasonSerializer(serializers.Serializer[dict[str, Any]]):
    rule_id = serializers.IntegerField(allow_null=True, required=False)
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    points = serializers.FloatField(required=False)
    text = serializers.CharField(required=False)


class LeadSerializer(serializers.ModelSerializer[Lead]):
    """A lead as the dashboard lists it."""

    owner = serializers.IntegerField(source="owner_id", allow_null=True, read_only=True)
    owner_username = serializers.SerializerMethodField()
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True, read_only=True)
    # Declared: DRF drops `allow_blank` from read-only model fields, and the schema with it.
    # (The ignores: django-countries leaves CountryField's __init__ unannotated.)
    country = CountryField(read_only=True, allow_blank=True)  # type: ignore[no-untyped-call]
    company_size = serializers.ChoiceField(
        choices=Lead.CompanySize.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Lead
        fields = (
            "id",
            "uid",
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "job_title",
            "company_size",
            "industry",
            "country",
            "time_zone",
            "stage",
            "score",
            "temperature",
            "owner",
            "owner_username",
            "source",
            "campaign",
            "last_activity_at",
            "consent_given_at",
            "sms_consent_given_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_owner_username(self, lead: Lead) -> str | None:
        return lead.owner.get_username() if lead.owner_id and lead.owner else None


class LeadRowSerializer(LeadSerializer):
    last_activity = serializers.CharField(read_only=True, help_text="What the lead did last.")
    hot_since = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(LeadSerializer.Meta):
        fields = (*LeadSerializer.Meta.fields, "last_activity", "hot_since")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]


class LeadPageSerializer(serializers.Serializer[dict[str, Any]]):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null at the end.")
    results = LeadRowSerializer(many=True)


class LeadDetailSerializer(LeadSerializer):
    """One lead with its consent and why it scores what it does."""

    score_reasons = ScoreReasonSerializer(many=True, read_only=True)
    answers = serializers.DictField(read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = (
            *LeadSerializer.Meta.fields,
            "consent_text",
            "sms_consent_text",
            "answers",  # type: ignore[assignment]
            "score_reasons",
        )
        read_only_fields = fields  # type: ignore[assignment]


class ContactSerializer(serializers.ModelSerializer[Lead]):
    """The contact fields a person may edit (PATCH)."""

    country = CountryField(required=False, allow_blank=True)  # type: ignore[no-untyped-call]
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True)

    class Meta:
        model = Lead
        fields = (
            "first_name",
            "last_name",
            "phone",
            "company",
            "job_title",
            "company_size",
            "industry",
            "country",
            "time_zone",
        )
        # Names follow the rule every way in shares (capture.validators).
        extra_kwargs = {
            name: {"required": False}
            | ({"validators": [validate_person_name]} if name.endswith("_name") else {})
            for name in fields
        }

    def validate_time_zone(self, value: str) -> str:
        if value:
            parse_zone(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The phone rule every way in shares (capture.validators): E.164, read in the
        lead's country (the one sent now, else the stored one) when it has no country code."""
        if attrs.get("phone"):
            country = attrs.get("country", getattr(self.instance, "country", "")) or ""
            try:
                attrs["phone"] = normalise_phone(attrs["phone"], country=str(country))
            except DjangoValidationError as error:
                raise serializers.ValidationError({"phone": error.messages}) from error
        return attrs


class LeadCreateSerializer(ContactSerializer):
    email = serializers.EmailField(max_length=254)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)  # type: ignore[assignment]
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )
    consent_text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="The consent the lead gave, word for word; records consent as given now.",
    )

    class Meta(ContactSerializer.Meta):
        fields = ("email", *ContactSerializer.Meta.fields, "source", "campaign", "consent_text")  # type: ignore[assignment]


class LeadFilterSerializer(serializers.Serializer[Any]):
    """The dashboard's filters, as query parameters."""

    temperature = serializers.ChoiceField(choices=Lead.Temperature.choices, required=False)
    stage = serializers.ChoiceField(choices=Lead.Stage.choices, required=False)
    owner = serializers.ChoiceField(
        choices=[("mine", "Mine"), ("unassigned", "Unassigned")], required=False
    )
    campaign = serializers.IntegerField(min_value=1, max_value=_BIGINT, required=False)
    source = serializers.CharField(max_length=100, required=False)  # type: ignore[assignment]
    created_from = serializers.DateTimeField(
        required=False, help_text="Created at or after (ISO 8601; no zone means UTC)."
    )
    created_before = serializers.DateTimeField(required=False, help_text="Created before.")
    search = serializers.CharField(
        max_length=200, required=False, help_text="Words in the name, email or company."
    )
    cursor = serializers.CharField(
        max_length=200, required=False, help_text="Opaque: copy it from `next`."
    )
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("created_from"), attrs.get("created_before")
        if start and end and start >= end:
            raise serializers.ValidationError({"created_before": ["Must come after created_from."]})
        return attrs


class StageSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=[(s, Lead.Stage(s).label) for s in WORKABLE_STAGES])
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, allow_blank=True, help_text="Needed for lost."
    )


class OwnerSerializer(serializers.Serializer[Any]):
    owner = serializers.IntegerField(
        min_value=1,
        max_value=_BIGINT,
        allow_null=True,
        help_text="An active sales rep's user id; null (or your own id) claims the lead.",
    )
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True)


class NoteSerializer(serializers.ModelSerializer[Note]):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    body = serializers.CharField(max_length=NOTE_MAX)

    class Meta:
        model = Note
        fields = ("id", "kind", "outcome", "body", "author", "created_at")
        read_only_fields = ("id", "author", "created_at")
        extra_kwargs = {
            "kind": {"required": False},
            "outcome": {"required": False, "help_text": "Required for a call."},
        }


class TimelineEntrySerializer(serializers.Serializer[TimelineEntry]):
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="submission, activity, email, sms, score, stage, owner, sequence, note, call, "
        "task, booking"
    )
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(allow_blank=True)
    moment = serializers.DateTimeField(allow_null=True, help_text="A booked slot's start.")


class TimelineSerializer(serializers.Serializer[dict[str, list[TimelineEntry]]]):
    results = TimelineEntrySerializer(many=True)


class TimelineQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_TIMELINE, default=50)


class MetricsQuerySerializer(serializers.Serializer[Any]):
    start = serializers.DateField(required=False, help_text="First day (default: 29 days ago).")
    end = serializers.DateField(required=False, help_text="Last day, included (default: today).")
    tz = serializers.CharField(
        max_length=64, required=False, default="UTC", help_text="IANA zone of the days."
    )

    def validate_tz(self, value: str) -> ZoneInfo:
        return parse_zone(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate(timezone=attrs["tz"])
        end: date = attrs.get("end") or today
        start: date = attrs.get("start") or end - timedelta(days=DEFAULT_METRICS_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"end": ["Must not be before start."]})
        if (end - start).days >= MAX_METRICS_DAYS:
            raise serializers.ValidationError({"end": ["Choose at most two years."]})
        for name, day in (("start", start), ("end", end)):
            # Local midnights far from today would overflow on their way to UTC.
            if not 1970 <= day.year <= 9000:
                raise serializers.ValidationError({name: ["Choose a date from 1970 on."]})
        return {**attrs, "start": start, "end": end}


class FunnelRowSerializer(serializers.Serializer[FunnelRow]):
    label = serializers.CharField()  # type: ignore[assignment]
    leads = serializers.IntegerField()
    nurtured = serializers.IntegerField()
    quality = serializers.IntegerField(help_text="Reached warm or hot.")
    hot = serializers.IntegerField()
    booked = serializers.IntegerField()
    won = serializers.IntegerField()
    spend = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    currency = serializers.CharField(allow_blank=True)
    cost_per_lead = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    cost_per_client = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    quality_rate = serializers.FloatField(allow_null=True, help_text="Percent.")
    conversion_rate = serializers.FloatField(allow_null=True, help_text="Percent won.")
    speed_to_lead_seconds = serializers.SerializerMethodField(
        help_text="Median from capture to the first email."
    )
    speed_to_contact_seconds = serializers.SerializerMethodField(
        help_text="Median from capture to the first sales contact."
    )

    def get_speed_to_lead_seconds(self, row: FunnelRow) -> float | None:
        return row.speed_to_lead.total_seconds() if row.speed_to_lead is not None else None

    def get_speed_to_contact_seconds(self, row: FunnelRow) -> float | None:
        return row.speed_to_contact.total_seconds() if row.speed_to_contact is not None else None


class FunnelStepSerializer(serializers.Serializer[dict[str, Any]]):
    label = serializers.CharField()  # type: ignore[assignment]
    leads = serializers.IntegerField()


class DailySeriesSerializer(serializers.Serializer[DailySeries]):
    label = serializers.CharField()  # type: ignore[assignment]
    data = serializers.ListField(child=serializers.IntegerField())  # type: ignore[assignment]


class DailySerializer(serializers.Serializer[DailyChart]):
    days = serializers.ListField(child=serializers.DateField())
    series = DailySeriesSerializer(many=True)


class MetricsSerializer(serializers.Serializer[dict[str, Any]]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive.")
    time_zone = serializers.CharField()
    funnel = FunnelStepSerializer(many=True)
    total = FunnelRowSerializer()
    campaigns = FunnelRowSerializer(many=True)
    sources = FunnelRowSerializer(many=True)
    daily = DailySerializer()
