"""Segments over the API (/api/v1/segments/): Marketers create and change them, Sales reps
read them and their members (the groups' model permissions, as everywhere in api/).

A segment's conditions are validated by the model's own validator (segments.trees), the one
the admin's builder and the services use; writes go through segments.services.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, viewsets

from api.pagination import NewestFirst
from api.permissions import HasPermissions
from api.schema import error_responses
from segments import selectors, services
from segments.models import Segment, SegmentMember

TAG = "segments"


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    member_count = serializers.IntegerField(read_only=True, help_text="At the last change.")
    conditions = serializers.JSONField(
        help_text='A group: {"match": "all" | "any" | "none", "conditions": [condition or '
        'group, ...]}; a condition is e.g. {"field": "score", "op": "at_least", "value": 40}.'
    )

    class Meta:
        model = Segment
        fields = (
            "id",
            "name",
            "description",
            "conditions",
            "member_count",
            "refreshed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "refreshed_at", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The model's checks (the tree and its references), on the segment as it will be.
        current = self.instance
        candidate = Segment(
            pk=getattr(current, "pk", None),
            conditions=attrs.get("conditions", getattr(current, "conditions", None)),
        )
        try:
            candidate.clean_fields(exclude=["name", "description", "created_by"])
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Segment:
        user = self.context["request"].user
        return services.create_segment(created_by=user, **validated_data)

    def update(self, instance: Segment, validated_data: dict[str, Any]) -> Segment:
        return services.update_segment(segment=instance, **validated_data)


class MemberSerializer(serializers.ModelSerializer[SegmentMember]):
    lead = serializers.IntegerField(source="lead_id", read_only=True)
    email = serializers.EmailField(source="lead.email", read_only=True)
    name = serializers.CharField(source="lead.full_name", read_only=True)
    temperature = serializers.CharField(source="lead.temperature", read_only=True)
    score = serializers.IntegerField(source="lead.score", read_only=True)

    class Meta:
        model = SegmentMember
        fields = ("id", "lead", "email", "name", "temperature", "score", "joined_at")


@extend_schema_view(
    list=extend_schema(
        tags=[TAG], responses={200: SegmentSerializer(many=True), **error_responses(404)}
    ),
    retrieve=extend_schema(tags=[TAG], responses={200: SegmentSerializer, **error_responses(404)}),
    create=extend_schema(tags=[TAG], responses={201: SegmentSerializer, **error_responses(400)}),
    update=extend_schema(
        tags=[TAG], responses={200: SegmentSerializer, **error_responses(400, 404)}
    ),
    partial_update=extend_schema(
        tags=[TAG], responses={200: SegmentSerializer, **error_responses(400, 404)}
    ),
    destroy=extend_schema(tags=[TAG], responses={204: None, **error_responses(404)}),
)
class SegmentViewSet(viewsets.ModelViewSet[Segment]):
    serializer_class = SegmentSerializer

    def get_queryset(self) -> QuerySet[Segment]:
        return Segment.objects.annotate(member_count=Count("members")).order_by("-id")

    def get_object(self) -> Segment:
        segment: Segment = super().get_object()
        segment.member_count = segment.members.count()  # type: ignore[attr-defined]  # shown
        return segment


@extend_schema(
    tags=[TAG],
    responses={200: MemberSerializer(many=True), **error_responses(404)},
    description="The segment's leads now, newest member first, with cursor paging.",
)
class SegmentMembersView(generics.ListAPIView[SegmentMember]):
    serializer_class = MemberSerializer
    pagination_class = NewestFirst
    permission_classes = [HasPermissions.of("segments.view_segment", "capture.view_lead")]

    def get_queryset(self) -> QuerySet[SegmentMember]:
        segment = get_object_or_404(Segment, pk=self.kwargs["pk"])
        return selectors.segment_members(segment_id=segment.pk)


urlpatterns = [
    path("segments/", SegmentViewSet.as_view({"get": "list", "post": "create"}), name="segments"),
    path(
        "segments/<int:pk>/",
        SegmentViewSet.as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        ),
        name="segment",
    ),
    path("segments/<int:pk>/members/", SegmentMembersView.as_view(), name="segment-members"),
]
