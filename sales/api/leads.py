"""Leads over the API: the dashboard's list, one lead, and what a rep does to it.

Views parse, call one selector or service, and render. Object access goes through
`lead_get_for_user`, the same helper the dashboard's pages use.
"""

import base64
import binascii
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import Conflict
from api.idempotency import idempotent
from api.permissions import HasPermissions, ModelPermissions
from api.schema import error_responses, idempotency_key
from capture.models import Lead
from leadfunnel.auth import signed_in
from leadfunnel.groups import CLAIM_LEAD
from sales.api.serializers import (
    ContactSerializer,
    LeadCreateSerializer,
    LeadDetailSerializer,
    LeadFilterSerializer,
    LeadPageSerializer,
    LeadRowSerializer,
    NoteSerializer,
    OwnerSerializer,
    StageSerializer,
    TimelineQuerySerializer,
    TimelineSerializer,
)
from sales.models import Note
from sales.selectors import Cursor, DashboardFilters, dashboard_page, lead_get_for_user
from sales.selectors.lead import WORK_PIPELINE, lead_workspace
from sales.services import contact
from sales.services import leads as lead_services
from sales.services.leads import ActionRefused
from scoring.models import ScoreChange

TAG = "leads"
DEFAULT_PAGE_SIZE = 50
_MAX_INT = 2**31 - 1
_MAX_BIGINT = 2**63 - 1


class Refused(exceptions.APIException):
    """A sales service said no (ActionRefused): its message, with its status."""

    default_code = "refused"

    def __init__(self, refused: ActionRefused) -> None:
        super().__init__(refused.message, "conflict" if refused.status == 409 else "refused")
        self.status_code = refused.status


def _act[T](action: Callable[[], T]) -> T:
    try:
        return action()
    except ActionRefused as refused:
        raise Refused(refused) from refused
    except Lead.DoesNotExist as exc:  # deleted between the access check and the lock
        raise exceptions.NotFound("No such lead.") from exc


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(cursor.encode().encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The dashboard's keyset cursor, or a ValidationError naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        cursor = Cursor.decode(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise exceptions.ValidationError({"cursor": ["Not a cursor from `next`."]}) from exc
    # Values outside the columns' ranges would reach PostgreSQL as errors, not as pages.
    if not (-_MAX_INT <= cursor.score <= _MAX_INT and 0 <= cursor.lead_id <= _MAX_BIGINT):
        raise exceptions.ValidationError({"cursor": ["Not a cursor from `next`."]})
    return cursor


class LeadListView(GenericAPIView[Lead]):
    """Leads in dashboard order: hot, warm, cold; score; latest activity."""

    queryset = Lead.objects.all()
    permission_classes = [ModelPermissions]
    serializer_class = LeadRowSerializer
    pagination_class = None

    @extend_schema(
        tags=[TAG],
        operation_id="leads_list",
        parameters=[LeadFilterSerializer],
        responses={200: LeadPageSerializer, **error_responses(400)},
        description=(
            "Hot leads first, then by score, then by latest activity, with the dashboard's "
            "filters. Follow `next` for the following page: pages are keyset pages, stable "
            "while new leads arrive."
        ),
    )
    def get(self, request: Request) -> Response:
        query = LeadFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        filters = DashboardFilters(
            temperature=params.get("temperature", ""),
            stage=params.get("stage", ""),
            owner=params.get("owner", ""),
            campaign_id=params.get("campaign"),
            source=params.get("source", "").strip(),
            created_from=params.get("created_from"),
            created_before=params.get("created_before"),
            search=params.get("search", "").strip(),
        )
        page = dashboard_page(
            filters=filters,
            user=request.user,
            after=after,
            size=params.get("page_size", DEFAULT_PAGE_SIZE),
        )
        rows = []
        for row in page.rows:
            lead = row.lead
            # Read by LeadRowSerializer's fields of the same names.
            lead.last_activity = row.last_activity  # type: ignore[attr-defined]
            lead.hot_since = row.hot_since  # type: ignore[attr-defined]
            rows.append(lead)
        next_url = None
        if page.next_cursor is not None:
            query_params: QueryDict = request.query_params.copy()
            query_params["cursor"] = encode_cursor(page.next_cursor)
            next_url = request.build_absolute_uri(f"{request.path}?{query_params.urlencode()}")
        return Response({"next": next_url, "results": LeadRowSerializer(rows, many=True).data})

    @extend_schema(
        tags=[TAG],
        operation_id="leads_create",
        request=LeadCreateSerializer,
        responses={201: LeadDetailSerializer, **error_responses(400, 409, 422)},
        parameters=[idempotency_key(effect="creates one lead")],
        description="Create a lead (Marketers). A lead with the same email → 409 "
        "`duplicate_email`. Emails are trimmed and lower-cased.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = LeadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            lead = contact.create_lead(
                email=values["email"],
                details=values,
                source=values.get("source", ""),
                campaign=values.get("campaign"),
                consent_text=values.get("consent_text", ""),
            )
        except contact.DuplicateEmail as exc:
            raise DuplicateEmail() from exc
        lead = Lead.objects.select_related("owner", "campaign").get(pk=lead.pk)
        return Response(_detail(lead), status=status.HTTP_201_CREATED)


class DuplicateEmail(Conflict):
    default_detail = "A lead with this email exists already."
    default_code = "duplicate_email"


def _detail(lead: Lead) -> dict[str, Any]:
    latest = ScoreChange.objects.filter(lead=lead).order_by("-at", "-id").first()
    # Read by LeadDetailSerializer's field of the same name.
    lead.score_reasons = [r for r in (latest.reasons if latest else []) if isinstance(r, dict)]  # type: ignore[attr-defined]
    return LeadDetailSerializer(lead).data


class LeadDetailView(GenericAPIView[Lead]):
    queryset = Lead.objects.all()
    permission_classes = [ModelPermissions]
    serializer_class = LeadDetailSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="leads_retrieve",
        responses={200: LeadDetailSerializer, **error_responses(404)},
        description="One lead, with the reasons of its latest score.",
    )
    def get(self, request: Request, lead_id: int) -> Response:
        return Response(_detail(lead_get_for_user(user=request.user, lead_id=lead_id)))

    @extend_schema(
        tags=[TAG],
        operation_id="leads_partial_update",
        request=ContactSerializer,
        responses={200: LeadDetailSerializer, **error_responses(400, 404)},
        description="Edit contact fields; the lead is rescored.",
    )
    def patch(self, request: Request, lead_id: int) -> Response:
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        data = ContactSerializer(lead, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        _act(lambda: contact.update_contact(lead_id=lead.pk, details=data.validated_data))
        return Response(_detail(lead_get_for_user(user=request.user, lead_id=lead_id)))


class LeadActionView(APIView):
    """A POST that works one lead (stage, owner): capture.change_lead."""

    permission_classes = [HasPermissions.of("capture.view_lead", "capture.change_lead")]


class LeadStageView(LeadActionView):
    # As the board and the lead page: moving a lead on is a sales rep's (marketers change
    # leads in the admin, but do not work the pipeline).
    permission_classes = [HasPermissions.of("capture.view_lead", *WORK_PIPELINE)]

    @extend_schema(
        tags=[TAG],
        operation_id="leads_stage",
        request=StageSerializer,
        responses={200: LeadDetailSerializer, **error_responses(400, 404, 409)},
        description="Move the lead to contacted, booked, won or lost (lost needs a reason). "
        "Booked, won and lost end its sequences.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        data = StageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            _act(
                lambda: lead_services.move_stage(
                    lead_id=lead.pk,
                    actor=signed_in(request.user),
                    stage=values["stage"],
                    reason=values.get("reason", ""),
                )
            )
        except Refused as refused:
            # The stage is a valid choice by now: what the service still refuses is the
            # reason (lost needs one).
            if refused.status_code == status.HTTP_400_BAD_REQUEST:
                raise exceptions.ValidationError({"reason": [str(refused.detail)]}) from None
            raise
        return Response(_detail(lead_get_for_user(user=request.user, lead_id=lead_id)))


class LeadOwnerView(LeadActionView):
    @extend_schema(
        tags=[TAG],
        operation_id="leads_owner",
        request=OwnerSerializer,
        responses={200: LeadDetailSerializer, **error_responses(400, 403, 404, 409)},
        description="Claim the lead (owner null or your id) or give it to another sales rep; "
        "sales reps only, as on the lead page and the board.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        data = OwnerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        owner_id = data.validated_data["owner"]
        if owner_id is None or owner_id == request.user.pk:
            if not request.user.has_perm(CLAIM_LEAD):
                raise exceptions.PermissionDenied("Only sales reps can claim a lead.")
            _act(lambda: lead_services.take_lead(lead_id=lead.pk, actor=signed_in(request.user)))
        else:
            # As on the lead page and the board: giving a lead to a rep is sales' work.
            if not request.user.has_perms(WORK_PIPELINE):
                raise exceptions.PermissionDenied("Only sales reps can give a lead to a rep.")
            try:
                _act(
                    lambda: lead_services.reassign_lead(
                        lead_id=lead.pk,
                        actor=signed_in(request.user),
                        owner_id=owner_id,
                        reason=data.validated_data.get("reason", ""),
                    )
                )
            except Refused as refused:
                if refused.status_code == status.HTTP_400_BAD_REQUEST:
                    raise exceptions.ValidationError({"owner": [str(refused.detail)]}) from None
                raise
        return Response(_detail(lead_get_for_user(user=request.user, lead_id=lead_id)))


class LeadNotesView(GenericAPIView[Note]):
    serializer_class = NoteSerializer

    def get_permissions(self) -> list[Any]:
        perms: tuple[str, ...]
        if self.request.method == "POST":
            perms = ("capture.view_lead", "capture.change_lead", "sales.add_note")
        else:
            perms = ("capture.view_lead", "sales.view_note")
        return [HasPermissions.of(*perms)()]

    def get_queryset(self) -> QuerySet[Note]:
        return Note.objects.filter(lead_id=self.kwargs["lead_id"]).select_related("author")

    @extend_schema(
        tags=[TAG],
        operation_id="leads_notes_list",
        responses={200: NoteSerializer(many=True), **error_responses(400, 404)},
        description="The lead's notes and logged calls, newest first.",
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead_get_for_user(user=request.user, lead_id=lead_id)
        notes = self.get_queryset().order_by("-id")
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="leads_notes_create",
        request=NoteSerializer,
        responses={201: NoteSerializer, **error_responses(400, 404)},
        description="Add a note, or log a call with `kind: call` (a hot lead's first call "
        "counts as its first contact).",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("kind", Note.Kind.NOTE) == Note.Kind.CALL:
            action = lambda: lead_services.log_call(  # noqa: E731
                lead_id=lead.pk,
                author=signed_in(request.user),
                body=values["body"],
                outcome=values.get("outcome", ""),
            )
        else:
            action = lambda: lead_services.add_note(  # noqa: E731
                lead_id=lead.pk,
                author=signed_in(request.user),
                body=values["body"],
                outcome=values.get("outcome", ""),
            )
        try:
            note = _act(action)
        except Refused as refused:
            if refused.status_code == status.HTTP_400_BAD_REQUEST:
                raise exceptions.ValidationError({"body": [str(refused.detail)]}) from None
            raise
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class LeadTimelineView(APIView):
    permission_classes = [HasPermissions.of("capture.view_lead")]

    @extend_schema(
        tags=[TAG],
        operation_id="leads_timeline",
        parameters=[TimelineQuerySerializer],
        responses={200: TimelineSerializer, **error_responses(400, 404)},
        description="Everything the lead did and had done to it, newest first: submissions, "
        "activities, emails, score changes, stage and owner changes, notes, bookings.",
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workspace = lead_workspace(lead=lead, length=query.validated_data["limit"])
        return Response(TimelineSerializer({"results": workspace.timeline}).data)
