"""Request and response bodies of the capture, activities and track endpoints.

Serializers here check shapes and types only; what a lead form accepts is decided by the
landing page's own CaptureForm (capture.forms), so the API and the HTML form never disagree.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.settings import api_settings

from capture.models import Activity

# A client's clock may run a little ahead of ours; beyond this an event time is refused.
CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 500
MAX_BEACON = 50
MAX_PROPERTIES_BYTES = 8192
URL_LENGTH = 2000
TITLE_LENGTH = 300


def _text(help_text: str, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text, **kwargs)


class CaptureRequestSerializer(serializers.Serializer[Any]):
    """A landing page's form as JSON. Which fields are asked and required is the page's choice."""

    email = serializers.CharField(help_text="The prospect's work email.")
    first_name = _text("Asked when the page shows it.")
    last_name = _text("Asked when the page shows it.")
    phone = _text(
        "Stored as E.164. Without a country code it is read as a number of `country`, else of "
        "the country of `time_zone`, else of the PHONENUMBER_DEFAULT_REGION setting."
    )
    company = _text("Asked when the page shows it.")
    job_title = _text("Asked when the page shows it.")
    company_size = _text("One of 1-9, 10-49, 50-249, 250-999, 1000+.")
    industry = _text("Asked when the page shows it.")
    country = _text("ISO 3166-1 alpha-2 code, e.g. GB.")
    answer = _text("The answer to the page's qualifying question: one of its choices.")
    consent = serializers.BooleanField(
        required=False, help_text="Required (true) when the page has a consent text."
    )
    sms_consent = serializers.BooleanField(
        required=False,
        help_text="The prospect ticked 'Text me about my request' (pages that ask for a phone).",
    )
    website = _text("Honeypot: leave it out or empty. Filled in, the request is ignored.")
    utm_source = _text("Clipped to 100 characters.")
    utm_medium = _text("Clipped to 100 characters.")
    utm_campaign = _text("Clipped to 100 characters; attributes the lead to that campaign.")
    utm_term = _text("Clipped to 100 characters.")
    utm_content = _text("Clipped to 100 characters.")
    referrer = _text("The page the prospect came from. Clipped to 2,000 characters.")
    time_zone = _text("IANA name, e.g. Europe/London: emails arrive in the lead's hours.")


class CaptureAcceptedSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["received"])
    tracking_token = serializers.CharField(
        allow_null=True,
        help_text="Pass to `window.leadfunnel.identify(token)` so track.js reports page views. "
        "Only for a lead this submission created; null when the email was already known.",
    )


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset or Z: a naive time would be read in the wrong zone."""

    default_error_messages = {
        "naive": "Include a time zone offset, e.g. 2026-01-31T09:30:00Z.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # out of range: the parent says "wrong format"
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


class PropertiesField(serializers.DictField):
    """A custom event's free-form JSON object: small, and storable by PostgreSQL."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        encoded = json.dumps(value, ensure_ascii=False)
        if len(encoded.encode("utf-8", "surrogatepass")) > MAX_PROPERTIES_BYTES:
            raise serializers.ValidationError(
                f"Keep properties under {MAX_PROPERTIES_BYTES} bytes of JSON."
            )
        # PostgreSQL's jsonb stores neither NUL nor lone surrogates (both parse from \u escapes).
        if _unstorable(value):
            raise serializers.ValidationError(
                "Null characters and unpaired surrogates are not allowed."
            )
        return value


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


class ActivityEventSerializer(serializers.Serializer[Any]):
    """One behavioural event of one lead."""

    kind = serializers.ChoiceField(
        choices=[Activity.Kind.PAGE_VIEWED.value, Activity.Kind.CUSTOM.value]
    )
    url = serializers.URLField(
        required=False, max_length=URL_LENGTH, help_text="page_viewed: the page's full URL."
    )
    title = _text("page_viewed: the page's title.", max_length=TITLE_LENGTH)
    referrer = _text("page_viewed: where the visitor came from.", max_length=URL_LENGTH)
    name = serializers.RegexField(
        r"^[\w .:/-]+$",
        required=False,
        max_length=100,
        help_text="custom: the event's name, e.g. webinar_registered.",
    )
    properties = PropertiesField(
        required=False, help_text="custom: a JSON object of details (up to 8 KB)."
    )
    occurred_at = AwareDateTimeField(
        required=False, help_text="When it happened (ISO 8601 with offset); default: now."
    )
    lead = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="The lead's id."
    )
    email = serializers.EmailField(required=False, help_text="The lead's email.")
    tracking_token = serializers.CharField(
        required=False, max_length=500, help_text="The signed token of the `lf_id` cookie."
    )

    def validate_occurred_at(self, value: datetime) -> datetime:
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("This time is in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("lead", "email", "tracking_token") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {(given or ["lead"])[-1]: ["Give exactly one of lead, email or tracking_token."]}
            )
        if attrs["kind"] == Activity.Kind.PAGE_VIEWED and not attrs.get("url"):
            raise serializers.ValidationError({"url": ["A page view needs its URL."]})
        if attrs["kind"] == Activity.Kind.CUSTOM and not attrs.get("name"):
            raise serializers.ValidationError({"name": ["A custom event needs a name."]})
        return attrs


class _Batch(serializers.Serializer[Any]):
    """A list under "events", counted before any item is validated (a huge batch costs nothing)."""

    limit = 0

    def to_internal_value(self, data: Any) -> Any:
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and len(events) > self.limit:
            raise serializers.ValidationError(
                {"events": [f"Send at most {self.limit} events per request."]}
            )
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict) and "events" in exc.detail:
                exc.detail["events"] = as_indexed_list(exc.detail["events"])
            raise


def as_indexed_list(detail: Any) -> Any:
    """A list's errors as api.errors names them: `events[3].url`, and `events` for the list.

    DRF (LIST_SERIALIZER_ERRORS_AS_DICT) keys item errors by index in a dict, which would
    read `events.3.url`, and puts errors of the list itself under `events.non_field_errors`.
    """
    if not isinstance(detail, dict):
        return detail
    if set(detail) == {api_settings.NON_FIELD_ERRORS_KEY}:
        return detail[api_settings.NON_FIELD_ERRORS_KEY]
    if detail and all(isinstance(key, int) for key in detail):
        return [detail.get(index, {}) for index in range(max(detail) + 1)]
    return detail


class ActivityBatchSerializer(_Batch):
    limit = MAX_BATCH
    # many=True hands max_length on to the ListSerializer; the stubs check the child's.
    events = ActivityEventSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)  # type: ignore[call-arg]


class IngestAcceptedSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="How many events were recorded.")


class TrackPageViewSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=URL_LENGTH)
    title = _text("The page's title.", max_length=TITLE_LENGTH)
    referrer = _text("document.referrer.", max_length=URL_LENGTH)
    at = AwareDateTimeField(
        required=False,
        help_text="When the page was viewed; a browser clock outside the last day is replaced "
        "by the time the beacon arrived.",
    )


class TrackSerializer(_Batch):
    limit = MAX_BEACON
    token = serializers.CharField(
        max_length=500, required=False, help_text="The `lf_id` cookie's value (a known lead)."
    )
    visitor = serializers.RegexField(
        r"^[0-9a-f]{32}$",
        required=False,
        help_text="The `lf_vid` cookie's value: track.js's random id for this browser. Alone, "
        "the views are kept anonymously; with a token, this browser's anonymous views are "
        "joined to that lead.",
    )
    events = TrackPageViewSerializer(many=True, allow_empty=False, max_length=MAX_BEACON)  # type: ignore[call-arg]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("token") and not attrs.get("visitor"):
            raise serializers.ValidationError({"token": ["Give a token or a visitor id."]})
        return attrs
