"""Tasks over the API: list (mine, open, due before), create, complete.

Reading needs sales.view_task (reps and marketers); creating sales.add_task and completing
sales.change_task (reps): the groups' model permissions, as everywhere in the API.
"""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import idempotent
from api.permissions import HasPermissions, ModelPermissions
from api.schema import error_responses, idempotency_key
from capture.models import Lead
from leadfunnel.auth import signed_in
from sales.api.leads import Refused
from sales.models import Task
from sales.selectors.tasks import task_get_for_user, task_list
from sales.services import tasks as task_services
from sales.services.leads import ActionRefused

TAG = "tasks"


class DueFirst(CursorPagination):
    """Soonest due first, as a rep works them; the id breaks ties between equal times."""

    ordering = ("due_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class UserSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TaskSerializer(serializers.ModelSerializer[Task]):
    lead = serializers.IntegerField(source="lead_id", read_only=True)
    owner = UserSerializer(read_only=True)
    completed_by = UserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = (
            "id",
            "lead",
            "owner",
            "title",
            "note",
            "due_at",
            "completed_at",
            "completed_by",
            "source",
            "source_ref",
            "created_at",
        )
        read_only_fields = fields


class TaskCreateSerializer(serializers.Serializer[Any]):
    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.all())
    title = serializers.CharField(max_length=task_services.TITLE_MAX)
    due_at = serializers.DateTimeField(help_text="ISO 8601; no zone means UTC.")
    note = serializers.CharField(
        max_length=task_services.NOTE_MAX, required=False, allow_blank=True, default=""
    )
    owner = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text="A sales rep's user id; left out, the lead's owner, else the round-robin pick.",
    )


class TaskFilterSerializer(serializers.Serializer[Any]):
    owner = serializers.ChoiceField(
        choices=[("me", "Mine")], required=False, help_text="`me`: only your own tasks."
    )
    open = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: open; false: done."
    )
    due_before = serializers.DateTimeField(required=False, help_text="Due before (ISO 8601).")


class TaskListView(GenericAPIView[Task]):
    queryset = Task.objects.all()
    permission_classes = [ModelPermissions]
    serializer_class = TaskSerializer
    pagination_class = DueFirst

    @extend_schema(
        tags=[TAG],
        operation_id="tasks_list",
        parameters=[TaskFilterSerializer],
        responses={200: TaskSerializer(many=True), **error_responses(400, 404)},
        description="Tasks, soonest due first. `owner=me&open=true&due_before=…` is a rep's day.",
    )
    def get(self, request: Request) -> Response:
        query = TaskFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        tasks = task_list(
            user=request.user,
            mine=params.get("owner") == "me",
            open_only=params.get("open"),
            due_before=params.get("due_before"),
        )
        page = self.paginate_queryset(tasks)
        return self.get_paginated_response(TaskSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="tasks_create",
        request=TaskCreateSerializer,
        responses={201: TaskSerializer, **error_responses(400, 409, 422)},
        parameters=[idempotency_key(effect="creates one task")],
        description="Create a task for a rep (announced as the `task.created` webhook). 409 "
        "when the lead has no owner and no rep takes round-robin leads.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = TaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            task = task_services.create_task(
                lead_id=values["lead"].pk,
                title=values["title"],
                due_at=values["due_at"],
                note=values["note"],
                owner_id=values.get("owner"),
            )
        except ActionRefused as refused:
            if refused.status == status.HTTP_400_BAD_REQUEST:
                field = "owner" if values.get("owner") is not None else "title"
                raise exceptions.ValidationError({field: [refused.message]}) from refused
            raise Refused(refused) from refused
        except Lead.DoesNotExist as exc:  # deleted between validation and the lock
            raise exceptions.ValidationError({"lead": ["No such lead."]}) from exc
        return Response(TaskSerializer(_fresh(task.pk)).data, status=status.HTTP_201_CREATED)


class TaskCompleteView(GenericAPIView[Task]):
    permission_classes = [HasPermissions.of("sales.view_task", "sales.change_task")]
    serializer_class = TaskSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="tasks_complete",
        request=None,
        responses={200: TaskSerializer, **error_responses(404)},
        description="Mark the task done. Your own tasks only (or anyone's with "
        "`sales.complete_any_task`); completing a done task changes nothing.",
    )
    def post(self, request: Request, pk: int) -> Response:
        task = task_get_for_user(user=request.user, task_id=pk)
        try:
            task_services.complete_task(task_id=task.pk, actor=signed_in(request.user))
        except ActionRefused as refused:
            if refused.status == status.HTTP_403_FORBIDDEN:
                raise exceptions.PermissionDenied(refused.message) from refused
            raise Refused(refused) from refused
        except Task.DoesNotExist as exc:
            raise exceptions.NotFound("No such task.") from exc
        return Response(TaskSerializer(_fresh(task.pk)).data)


def _fresh(task_id: int) -> Task:
    return Task.objects.select_related("owner", "completed_by").get(pk=task_id)
