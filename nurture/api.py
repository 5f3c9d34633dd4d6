"""Sequences with their steps, and enrollments, over the API (/api/v1/).

Both groups read; Marketers write sequences and steps (validated as the admin's forms
validate), and enroll leads. Exiting an enrollment needs nurture.change_enrollment.
"""

from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.crud import ConstraintsDecide, crud_schema, save_or_conflict
from api.errors import Conflict
from api.idempotency import idempotent
from api.permissions import HasPermissions
from api.schema import error_responses, idempotency_key
from capture.models import Lead
from leadfunnel.zones import validate_time_zone
from nurture.models import Enrollment, Sequence, Step
from nurture.services import exiting, scheduling
from nurture.services.steps import remove_step, step_saved
from nurture.validators import email_content_errors

_BIGINT = 2**63 - 1


class StepSerializer(serializers.ModelSerializer[Step]):
    sequence = serializers.PrimaryKeyRelatedField(queryset=Sequence.objects.all())
    day = serializers.IntegerField(min_value=1, max_value=365)
    only_temperatures = serializers.ListField(
        child=serializers.ChoiceField(choices=Lead.Temperature.choices),
        required=False,
        help_text="Send only to leads this warm; empty means every lead.",
    )

    class Meta:
        model = Step
        fields = (
            "id",
            "sequence",
            "day",
            "subject",
            "preheader",
            "body",
            "cta_label",
            "cta_url",
            "only_temperatures",
            "click_condition",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        validators: list[Any] = []  # (sequence, day) is the constraint's: a 409, see _save

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The email checks every editor shares (nurture.validators), on the step as it will be
        saved, and that a step stays in its sequence."""

        def value(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, ""))

        errors = email_content_errors(value)
        step = self.instance
        if step is not None and "sequence" in attrs and attrs["sequence"].pk != step.sequence_id:
            errors["sequence"] = ["A step stays in its sequence."]
        if errors:
            raise serializers.ValidationError(errors)
        if "only_temperatures" in attrs:
            attrs["only_temperatures"] = list(dict.fromkeys(attrs["only_temperatures"]))
        return attrs


class NestedStepSerializer(StepSerializer):
    class Meta(StepSerializer.Meta):
        read_only_fields = StepSerializer.Meta.fields  # type: ignore[assignment]


# Generic in its model: a day list's Sequence, or the Journey proxy (JourneySerializer).
class SequenceSerializer[M: Sequence](serializers.ModelSerializer[M]):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        min_length=1,
        required=False,
        help_text="Days emails may go out, in the lead's time zone (0 = Monday).",
    )
    window_start_hour = serializers.IntegerField(min_value=0, max_value=23, required=False)
    window_end_hour = serializers.IntegerField(min_value=1, max_value=24, required=False)
    steps = NestedStepSerializer(many=True, read_only=True)

    class Meta:
        model = Sequence
        fields = (
            "id",
            "name",
            "status",
            "entry_pages",
            "window_start_hour",
            "window_end_hour",
            "weekdays",
            "fallback_time_zone",
            "hand_hot_leads_to_sales",
            "track_engagement",
            "created_at",
            "steps",
        )
        read_only_fields = ("id", "created_at", "steps")
        extra_kwargs = {"entry_pages": {"required": False}}

    def validate_fallback_time_zone(self, value: str) -> str:
        return validate_time_zone(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("window_start_hour", getattr(self.instance, "window_start_hour", 9))
        end = attrs.get("window_end_hour", getattr(self.instance, "window_end_hour", 17))
        if start >= end:
            raise serializers.ValidationError(
                {"window_end_hour": ["The latest hour must come after the earliest (1–24)."]}
            )
        if "weekdays" in attrs:
            attrs["weekdays"] = sorted(set(attrs["weekdays"]))
        return attrs


class EnrollmentSerializer(serializers.ModelSerializer[Enrollment]):
    # Declared: DRF drops `allow_blank` from read-only model fields, and the schema with it.
    exit_reason = serializers.ChoiceField(
        choices=Enrollment.ExitReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Enrollment
        fields = (
            "id",
            "lead",
            "sequence",
            "state",
            "exit_reason",
            "started_at",
            "ended_at",
            "needs_confirmation",
            "confirmed_at",
            "round",
            "current_node",
            "node_entered_at",
            "next_at",
            "converted_at",
            "trigger",
        )
        read_only_fields = fields


class EnrollSerializer(serializers.Serializer[Any]):
    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.all())
    sequence = serializers.PrimaryKeyRelatedField(queryset=Sequence.objects.all())


class EnrollmentFilterSerializer(serializers.Serializer[Any]):
    lead = serializers.IntegerField(min_value=1, max_value=_BIGINT, required=False)
    sequence = serializers.IntegerField(min_value=1, max_value=_BIGINT, required=False)
    journey = serializers.IntegerField(
        min_value=1, max_value=_BIGINT, required=False, help_text="A journey's id (its sequence)."
    )


class StepFilterSerializer(serializers.Serializer[Any]):
    sequence = serializers.IntegerField(min_value=1, max_value=_BIGINT, required=False)


@crud_schema("sequences", SequenceSerializer)
class SequenceViewSet(ConstraintsDecide, viewsets.ModelViewSet[Sequence]):
    serializer_class: type[SequenceSerializer[Sequence]] = SequenceSerializer
    queryset = Sequence.objects.prefetch_related("steps", "entry_pages").order_by("-id")


@crud_schema(
    "sequences",
    StepSerializer,
    parameters=[StepFilterSerializer],
    destroy={
        204: OpenApiResponse(description="Deleted."),
        200: OpenApiResponse(
            StepSerializer, description="Already sent to someone: switched off instead."
        ),
        **error_responses(404),
    },
)
class StepViewSet(viewsets.ModelViewSet[Step]):
    """A write the database's constraints refuse answers 409, not 500."""

    serializer_class = StepSerializer

    def get_queryset(self) -> QuerySet[Step]:
        steps = Step.objects.order_by("-id")
        if self.action == "list":
            query = StepFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            if "sequence" in query.validated_data:
                steps = steps.filter(sequence_id=query.validated_data["sequence"])
        return steps

    def perform_create(self, serializer: serializers.BaseSerializer[Step]) -> None:
        with transaction.atomic():
            step = save_or_conflict(serializer)
            step_saved(step=step, was_active=False)

    def perform_update(self, serializer: serializers.BaseSerializer[Step]) -> None:
        with transaction.atomic():
            step_id = cast(Step, serializer.instance).pk  # an update has its instance
            was_active = Step.objects.select_for_update().get(pk=step_id).is_active
            step = save_or_conflict(serializer)
            step_saved(step=step, was_active=was_active)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        step = self.get_object()
        if remove_step(step_id=step.pk):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(StepSerializer(Step.objects.get(pk=step.pk)).data)


@extend_schema_view(
    list=extend_schema(
        tags=["enrollments"],
        parameters=[EnrollmentFilterSerializer],
        responses={200: EnrollmentSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        tags=["enrollments"], responses={200: EnrollmentSerializer, **error_responses(404)}
    ),
)
class EnrollmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Enrollment]
):
    serializer_class = EnrollmentSerializer
    queryset = Enrollment.objects.order_by("-id")

    def get_queryset(self) -> QuerySet[Enrollment]:
        enrollments = Enrollment.objects.order_by("-id")
        if self.action == "list":
            query = EnrollmentFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            for name, column in (
                ("lead", "lead_id"),
                ("sequence", "sequence_id"),
                ("journey", "sequence_id"),
            ):
                if name in query.validated_data:
                    enrollments = enrollments.filter(**{column: query.validated_data[name]})
        return enrollments

    def get_permissions(self) -> list[Any]:
        if self.action == "exit":
            return [HasPermissions.of("nurture.view_enrollment", "nurture.change_enrollment")()]
        return list(super().get_permissions())

    @extend_schema(
        tags=["enrollments"],
        request=EnrollSerializer,
        responses={201: EnrollmentSerializer, **error_responses(400, 409, 422)},
        parameters=[idempotency_key(effect="enrolls once")],
        description="Enroll a lead in a sequence: every active step is scheduled in the "
        "lead's time zone and the day-1 email goes out at once. Already enrolled → 409.",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = EnrollSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead, sequence = data.validated_data["lead"], data.validated_data["sequence"]
        enrollment = scheduling.enroll_lead(lead=lead, sequence=sequence)
        if enrollment is None:
            raise AlreadyEnrolled()
        return Response(EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["enrollments"],
        request=None,
        responses={200: EnrollmentSerializer, **error_responses(404, 409)},
        description="Stop the enrollment: its pending emails are cancelled.",
    )
    @action(detail=True, methods=["post"])
    def exit(self, request: Request, pk: str) -> Response:
        enrollment = get_object_or_404(Enrollment, pk=pk)
        stopped = exiting.exit_enrollments(
            lead_id=enrollment.lead_id,
            reason=Enrollment.ExitReason.MANUAL,
            sequence_id=enrollment.sequence_id,
        )
        if not stopped:
            raise Conflict("The enrollment is not active.", "not_active")
        enrollment.refresh_from_db()
        return Response(EnrollmentSerializer(enrollment).data)


class AlreadyEnrolled(Conflict):
    default_detail = "The lead is (or was) enrolled in this sequence already."
    default_code = "already_enrolled"


_COLLECTION: dict[str, Any] = {"get": "list", "post": "create"}
_MEMBER: dict[str, Any] = {
    "get": "retrieve",
    "put": "update",
    "patch": "partial_update",
    "delete": "destroy",
}
urlpatterns = [
    path("sequences/", SequenceViewSet.as_view(_COLLECTION), name="sequences"),
    path("sequences/<int:pk>/", SequenceViewSet.as_view(_MEMBER), name="sequence"),
    path("steps/", StepViewSet.as_view(_COLLECTION), name="steps"),
    path("steps/<int:pk>/", StepViewSet.as_view(_MEMBER), name="step"),
    path("enrollments/", EnrollmentViewSet.as_view(_COLLECTION), name="enrollments"),
    path(
        "enrollments/<int:pk>/",
        EnrollmentViewSet.as_view({"get": "retrieve"}),
        name="enrollment",
    ),
    path(
        "enrollments/<int:pk>/exit/",
        EnrollmentViewSet.as_view({"post": "exit"}),
        name="enrollment-exit",
    ),
]
