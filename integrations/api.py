"""Privacy requests over the API: a lead's data as JSON, and its erasure. Both audited."""

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import HasPermissions
from api.schema import error_responses
from capture.models import Lead
from integrations.services import privacy
from leadfunnel.auth import signed_in

_FULFIL = HasPermissions.of("integrations.fulfil_privacy_request")


class EraseRequestSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Why, e.g. a ticket number; kept in the audit log. Not the person's name.",
    )


class ErasedSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField()
    lead_uid = serializers.UUIDField()
    request_id = serializers.IntegerField(help_text="The audit log entry.")
    completed_at = serializers.DateTimeField()


class PrivacyExportView(GenericAPIView[Any]):
    permission_classes = [_FULFIL]

    @extend_schema(
        tags=["privacy"],
        operation_id="lead_privacy_export",
        responses={200: OpenApiTypes.OBJECT, **error_responses(404)},
        description=(
            "Everything stored about one lead (its fields, submissions, activities, score "
            "changes, enrollments and deliveries, notes, stage and owner changes, bookings, "
            "hand-offs, suppressions of its address), as one JSON object keyed by table. "
            "Needs the `integrations.fulfil_privacy_request` permission (Marketers); each "
            "export is recorded in the privacy audit log."
        ),
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = get_object_or_404(Lead.objects.only("pk"), pk=lead_id)
        return Response(privacy.export_lead_data(lead_id=lead.pk, actor=signed_in(request.user)))


class EraseView(GenericAPIView[Any]):
    permission_classes = [_FULFIL]
    serializer_class = EraseRequestSerializer

    @extend_schema(
        tags=["privacy"],
        operation_id="lead_erase",
        request=EraseRequestSerializer,
        responses={200: ErasedSerializer, **error_responses(400, 404)},
        description=(
            "Erase a lead on the person's request: its address is suppressed (never mailed "
            "again), then its personal data is anonymised in every table while the rows "
            "and counts stay. Repeating the call is harmless. Recorded in the audit log."
        ),
    )
    def post(self, request: Request, lead_id: int) -> Response:
        body = EraseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lead = get_object_or_404(Lead.objects.only("pk"), pk=lead_id)
        done = privacy.erase_lead(
            lead_id=lead.pk,
            actor=signed_in(request.user),
            reason=body.validated_data.get("reason", ""),
        )
        payload = {
            "lead_id": done.lead_id,
            "lead_uid": done.lead_uid,
            "request_id": done.pk,
            "completed_at": done.completed_at,
        }
        return Response(ErasedSerializer(payload).data, status=status.HTTP_200_OK)


urlpatterns: list[URLPattern] = [
    path(
        "leads/<int:lead_id>/privacy-export/",
        PrivacyExportView.as_view(),
        name="lead-privacy-export",
    ),
    path("leads/<int:lead_id>/erase/", EraseView.as_view(), name="lead-erase"),
]
