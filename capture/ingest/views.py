"""The three ingest endpoints: thin views over capture's form, services and tracking tokens."""

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.parsers import JSONParser, PlainTextJSONParser
from api.permissions import HasPermissions
from api.schema import ErrorSerializer
from api.throttling import AddressRateThrottle
from capture import anonymous
from capture.forms import CaptureForm
from capture.ingest.events import activities_for_events, page_views_for_beacon
from capture.ingest.serializers import (
    ActivityBatchSerializer,
    ActivityEventSerializer,
    CaptureAcceptedSerializer,
    CaptureRequestSerializer,
    IngestAcceptedSerializer,
    TrackSerializer,
)
from capture.models import LandingPage, Lead
from capture.services import record_activities
from capture.tracking import lead_uid_for_tracking_token, tracking_token
from capture.views import capture_rate_limited

TAGS = ["Capture and tracking"]
_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (≤255 characters): a retry with the same key and body "
    "replays the first answer instead of creating again.",
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class _IngestView(APIView):
    def handle_exception(self, exc: Exception) -> Response:
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE when DRF reads it; left
        # alone that is Django's HTML 400, not the API's JSON error.
        if isinstance(exc, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            exc = PayloadTooLarge(f"The request body is too large (at most {limit} bytes).")
        return super().handle_exception(exc)


class _Public(_IngestView):
    """Called cross-site by anyone's browser: no cookies, sessions or CSRF; limited per address.

    With no SessionAuthentication DRF does not enforce CSRF, and CORS (django-cors-headers and
    capture.ingest.cors) never allows credentials, so a visitor's leadfunnel login is unused.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AddressRateThrottle]


class CaptureView(_Public):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="capture_submit",
        tags=TAGS,
        summary="Submit a landing page's form (public)",
        description=(
            "The landing page `slug`'s form as JSON, for headless sites and embedded forms; "
            "anonymous, and callable from the browser on the origins listed on the page "
            "(CORS). Validated, deduplicated by email and rate-limited per IP exactly like the "
            "HTML form. A known email's lead only has its blank fields filled (a headless "
            "caller cannot prove it is that lead). `tracking_token` is given only when this "
            "submission created the lead, and is null for an email already known: it lets "
            "its holder act as that lead, and anyone can type an address. Pass it to "
            "`window.leadfunnel.identify()` to report page views."
        ),
        parameters=[_IDEMPOTENCY],
        request=CaptureRequestSerializer,
        responses={
            201: CaptureAcceptedSerializer,
            400: _error("Invalid input: `fields` names each field at fault."),
            404: _error("No published landing page has this slug."),
            413: _error("The body is over the server's size limit (2.5 MB by default)."),
            422: _error("The Idempotency-Key was used for a different request."),
            429: _error("Too many submissions from this address; see Retry-After."),
        },
        examples=[
            OpenApiExample(
                "Submission",
                request_only=True,
                value={
                    "email": "ada@example.com",
                    "first_name": "Ada",
                    "company": "Engines",
                    "consent": True,
                    "utm_source": "newsletter",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request, slug: str) -> Response:
        page = get_object_or_404(
            LandingPage.objects.select_related("campaign"), slug=slug, published=True
        )
        if capture_rate_limited(request._request):
            raise exceptions.Throttled(wait=60)
        shape = CaptureRequestSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(shape.validated_data)
        for box in ("consent", "sms_consent"):
            if values.pop(box, False):
                values[box] = "on"
        if values.get("website"):
            # The honeypot, answered like a success (as the HTML form does) so a bot learns
            # nothing; the token names no lead, so its beacons are refused.
            return _received(uuid.uuid4())
        form = CaptureForm(values, page=page, suggest_corrections=False)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {name: [str(error) for error in errors] for name, errors in form.errors.items()}
            )
        result = form.submit(request._request)
        # Only a lead this call created: a known address's token would be the key to that
        # lead's tracking (its lf_id cookie, its beacons) for whoever typed the address.
        return _received(result.lead.uid if result.created else None)


def _received(lead_uid: uuid.UUID | None) -> Response:
    token = tracking_token(lead_uid) if lead_uid is not None else None
    return Response({"status": "received", "tracking_token": token}, status=status.HTTP_201_CREATED)


class ActivitiesView(_IngestView):
    permission_classes = [HasPermissions.of("capture.add_activity")]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="activities_ingest",
        tags=TAGS,
        summary="Record behavioural events",
        description=(
            'One event, or `{"events": [...]}` with up to 500. Each is a `page_viewed` '
            "(url) or a `custom` event (name, properties) of one lead, named by exactly one "
            "of `lead` (id), `email` or `tracking_token`. The batch is validated whole "
            "first: any bad event (or unknown lead) refuses it all, with fields such as "
            "`events[3].url`. Recorded events rescore their leads. Needs capture.add_activity "
            "(Marketers)."
        ),
        parameters=[_IDEMPOTENCY],
        request=PolymorphicProxySerializer(
            component_name="ActivityIngest",
            serializers=[ActivityEventSerializer, ActivityBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            201: IngestAcceptedSerializer,
            400: _error("Invalid events: `fields` names each, e.g. `events[3].url`."),
            401: _error("No or a wrong token."),
            403: _error("The token's user may not add activities."),
            413: _error("The body is over the server's size limit (2.5 MB by default)."),
            422: _error("The Idempotency-Key was used for a different request."),
            429: _error("Too many requests for this token."),
        },
        examples=[
            OpenApiExample(
                "Batch",
                request_only=True,
                value={
                    "events": [
                        {
                            "kind": "page_viewed",
                            "email": "ada@example.com",
                            "url": "https://www.example.com/pricing",
                            "title": "Pricing",
                            "occurred_at": "2026-01-31T09:30:00Z",
                        },
                        {
                            "kind": "custom",
                            "lead": 42,
                            "name": "webinar_registered",
                            "properties": {"webinar": "Q3 roadmap"},
                        },
                    ]
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        batch = isinstance(request.data, dict) and "events" in request.data
        shape = (ActivityBatchSerializer if batch else ActivityEventSerializer)(data=request.data)
        shape.is_valid(raise_exception=True)
        events = shape.validated_data["events"] if batch else [shape.validated_data]
        activities, errors = activities_for_events(events=events)
        if any(errors):
            raise exceptions.ValidationError({"events": errors} if batch else errors[0])
        record_activities(activities=activities)
        return Response({"accepted": len(activities)}, status=status.HTTP_201_CREATED)


class TrackView(_Public):
    parser_classes = [JSONParser, PlainTextJSONParser]

    @extend_schema(
        operation_id="track_page_views",
        tags=TAGS,
        summary="Collect page views from track.js (public)",
        description=(
            "track.js's beacon: a tracking token and/or the browser's visitor id, and up to 50 "
            "page views (a visitor id alone: kept anonymously until that browser becomes a "
            "lead; with a token: its earlier anonymous views join the lead). Accepts "
            "`text/plain` bodies holding JSON (navigator.sendBeacon). A forged, altered or "
            "expired token, or one of an erased lead, is refused with one generic message "
            "and nothing is recorded. Requests marked `Sec-GPC: 1` or `DNT: 1` are dropped "
            "unrecorded."
        ),
        request={"application/json": TrackSerializer, "text/plain": TrackSerializer},
        responses={
            204: OpenApiResponse(description="Recorded (or dropped for DNT/GPC)."),
            400: _error("Invalid body or token."),
            413: _error("The body is over the server's size limit (2.5 MB by default)."),
            429: _error("Too many beacons from this address."),
        },
    )
    def post(self, request: Request) -> Response:
        if request.headers.get("Sec-GPC") == "1" or request.headers.get("DNT") == "1":
            return Response(status=status.HTTP_204_NO_CONTENT)
        shape = TrackSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        token, visitor = shape.validated_data.get("token"), shape.validated_data.get("visitor")
        views = shape.validated_data["events"]
        if not token:
            anonymous.record_anonymous(visitor=visitor, views=views)
            return Response(status=status.HTTP_204_NO_CONTENT)
        uid = lead_uid_for_tracking_token(token)
        lead_id = Lead.objects.filter(uid=uid).values_list("pk", flat=True).first() if uid else None
        if lead_id is None:
            raise exceptions.ValidationError({"token": ["This tracking token is not valid."]})
        with transaction.atomic():
            if visitor:
                # This browser is now known: what it read before joins the lead first.
                anonymous.join_visitor(visitor=visitor, lead_id=lead_id, via="identified")
            record_activities(activities=page_views_for_beacon(lead_id=lead_id, views=views))
        return Response(status=status.HTTP_204_NO_CONTENT)
