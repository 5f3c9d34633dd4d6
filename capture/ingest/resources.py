"""Landing pages, campaigns and submissions over the API (/api/v1/): capture's resources.

Reading needs the model's view permission (both groups); writing pages and campaigns is
the Marketers' (api.permissions.ModelPermissions). Validation is the admin's.
"""

from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request

from api.crud import ConstraintsDecide, crud_schema
from api.errors import Conflict
from api.schema import error_responses
from capture.models import Campaign, LandingPage, Submission

_BIGINT = 2**63 - 1


class CampaignSerializer(serializers.ModelSerializer[Any]):
    spend = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "channel",
            "utm_campaign",
            "spend",
            "currency",
            "starts_on",
            "ends_on",
            "created_at",
        )
        read_only_fields = ("id", "created_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_on": ["Must not be before starts_on."]})
        return attrs


class LandingPageSerializer(serializers.ModelSerializer[Any]):
    fields_shown = serializers.ListField(
        child=serializers.ChoiceField(choices=LandingPage.Field.choices),
        required=False,
        help_text="Fields asked besides the email, which every page asks.",
    )
    fields_required = serializers.ListField(
        child=serializers.ChoiceField(choices=LandingPage.Field.choices), required=False
    )
    fields_later = serializers.ListField(
        child=serializers.ChoiceField(choices=LandingPage.Field.choices),
        required=False,
        help_text="Asked of a returning lead in place of fields it has already given.",
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = LandingPage
        fields = (
            "id",
            "slug",
            "title",
            "headline",
            "body",
            "cta_label",
            "testimonial",
            "testimonial_author",
            "kind",
            "fields_shown",
            "fields_required",
            "fields_later",
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
            "campaign",
            "double_opt_in",
            "published",
            "view_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "view_count", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """What LandingPageAdminForm.clean checks, on the page as it will be saved.

        The embed origins are checked by the model field's own validator, as in the admin.
        """

        def value(name: str, default: Any) -> Any:
            return attrs.get(name, getattr(self.instance, name, default))

        errors: dict[str, list[str]] = {}
        shown, required = value("fields_shown", []), value("fields_required", [])
        if set(required) - set(shown):
            errors["fields_required"] = ["A required field must also be shown."]
        if value("qualifying_question", "") and not value("qualifying_choices", "").strip():
            errors["qualifying_choices"] = ["Give at least one answer for the question."]
        if errors:
            raise serializers.ValidationError(errors)
        for name in ("fields_shown", "fields_required", "fields_later"):
            if name in attrs:
                attrs[name] = list(dict.fromkeys(attrs[name]))
        return attrs


class SubmissionSerializer(serializers.ModelSerializer[Any]):
    class Meta:
        model = Submission
        fields = (
            "id",
            "lead",
            "landing_page",
            "campaign",
            "data",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "referrer",
            "created_at",
        )
        read_only_fields = fields


class SubmissionFilterSerializer(serializers.Serializer[Any]):
    lead = serializers.IntegerField(min_value=1, max_value=_BIGINT, required=False)
    page = serializers.IntegerField(
        min_value=1, max_value=_BIGINT, required=False, help_text="A landing page's id."
    )


class _Writes(ConstraintsDecide, viewsets.ModelViewSet[Any]):
    """Database constraints have the last word: a write they refuse is a 409, not a 500."""

    def perform_destroy(self, instance: Model) -> None:
        try:
            with transaction.atomic():
                instance.delete()
        except ProtectedError as exc:
            raise Conflict("Still in use (it has submissions); unpublish it instead.") from exc


# A page or campaign still in use is refused: a 409 on delete too.
_DESTROY = {204: None, **error_responses(404, 409)}


@crud_schema("campaigns", CampaignSerializer, destroy=_DESTROY)
class CampaignViewSet(_Writes):
    queryset = Campaign.objects.order_by("-id")
    serializer_class = CampaignSerializer


@crud_schema("landing pages", LandingPageSerializer, destroy=_DESTROY)
class LandingPageViewSet(_Writes):
    queryset = LandingPage.objects.select_related("campaign").order_by("-id")
    serializer_class = LandingPageSerializer


@extend_schema_view(
    list=extend_schema(
        tags=["submissions"],
        parameters=[SubmissionFilterSerializer],
        responses={200: SubmissionSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        tags=["submissions"], responses={200: SubmissionSerializer, **error_responses(404)}
    ),
)
class SubmissionViewSet(viewsets.ReadOnlyModelViewSet[Any]):
    serializer_class = SubmissionSerializer

    def get_queryset(self) -> QuerySet[Submission]:
        submissions = Submission.objects.order_by("-id")
        if self.action != "list":
            return submissions
        request: Request = self.request
        query = SubmissionFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "lead" in query.validated_data:
            submissions = submissions.filter(lead_id=query.validated_data["lead"])
        if "page" in query.validated_data:
            submissions = submissions.filter(landing_page_id=query.validated_data["page"])
        return submissions


_COLLECTION: dict[str, Any] = {"get": "list", "post": "create"}
_MEMBER: dict[str, Any] = {
    "get": "retrieve",
    "put": "update",
    "patch": "partial_update",
    "delete": "destroy",
}
urlpatterns = [
    path("landing-pages/", LandingPageViewSet.as_view(_COLLECTION), name="landing-pages"),
    path("landing-pages/<int:pk>/", LandingPageViewSet.as_view(_MEMBER), name="landing-page"),
    path("campaigns/", CampaignViewSet.as_view(_COLLECTION), name="campaigns"),
    path("campaigns/<int:pk>/", CampaignViewSet.as_view(_MEMBER), name="campaign"),
    path("submissions/", SubmissionViewSet.as_view({"get": "list"}), name="submissions"),
    path(
        "submissions/<int:pk>/",
        SubmissionViewSet.as_view({"get": "retrieve"}),
        name="submission",
    ),
]
