"""Journeys over the API (/api/v1/): journeys with their nodes, arrows and triggers, manual
enrollment, and each enrollment's path.

Every journey endpoint asks for the journey's own model permissions (reading a node is
reading its journey, adding an arrow is changing it). Writes go through the same services
the map uses (nurture.services.journeys and editing), each in one transaction, so a request
the services refuse leaves nothing behind and answers 400 with the fields at fault.
"""

from collections.abc import Callable, Mapping
from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, generics, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.permissions import HasPermissions
from api.schema import error_responses, idempotency_key
from capture.models import LandingPage, Lead
from leadfunnel.auth import signed_in
from nurture.api import SequenceSerializer, StepSerializer
from nurture.models import Edge, Enrollment, Journey, Node, PathStep, Sequence, Trigger
from nurture.services import conditions, editing, goals, journeys, splits, timing, triggers
from nurture.services.journeys import EMAIL_FIELDS

TAG = "journeys"
MAX_NODES = 200
MAX_CONDITIONS = 20
DELAY_UNITS = (*timing.UNITS, timing.JOURNEY_DAY)
MAX_DELAY = {
    timing.HOURS: 24 * 366,
    timing.DAYS: 366,
    timing.BUSINESS_DAYS: 262,
    timing.JOURNEY_DAY: 366,
}
UPDATE_FIELDS = ("company", "job_title", "industry", "country", "source")


# -- node and trigger configs ---------------------------------------------------------------


def node_config_errors(kind: str, config: Any) -> list[str]:
    """Why the engine could not run a node of `kind` with `config` (empty when it can)."""
    if not isinstance(config, Mapping):
        return ["A node's config is an object."]
    check = _CONFIG_CHECKS.get(kind)
    return check(config) if check else []


def _delay_errors(delay: Any, what: str) -> list[str]:
    if not isinstance(delay, Mapping):
        return [f"{what} is an object with an amount and a unit."]
    unit = delay.get("unit", timing.DAYS)
    if unit not in DELAY_UNITS:
        return [f"{what}: the unit is one of {', '.join(DELAY_UNITS)}."]
    amount = delay.get("amount", 1)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        return [f"{what}: the amount is a whole number, 0 or more."]
    if amount > MAX_DELAY[unit]:
        return [f"{what}: at most {MAX_DELAY[unit]} {unit}."]
    return []


def _condition_errors(condition: Any, what: str) -> list[str]:
    try:
        conditions.validate(condition)
    except DjangoValidationError as exc:
        return [f"{what}: {message}" for message in exc.messages]
    return []


def _wait(config: Mapping[str, Any]) -> list[str]:
    return _delay_errors(config, "The delay")


def _wait_until(config: Mapping[str, Any]) -> list[str]:
    errors = _condition_errors(config.get("event", {"field": "clicked"}), "event")
    if "timeout" in config:
        errors += _delay_errors(config["timeout"], "timeout")
    return errors


def _branch(config: Mapping[str, Any]) -> list[str]:
    rules = config.get("conditions", [])
    if not isinstance(rules, list):
        return ["conditions is a list of {when: condition, label}."]
    if len(rules) > MAX_CONDITIONS:
        return [f"At most {MAX_CONDITIONS} conditions."]
    errors = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            errors.append(f"conditions[{index}] is an object.")
            continue
        errors += _condition_errors(rule.get("when", rule), f"conditions[{index}]")
        if not isinstance(rule.get("label", ""), str):
            errors.append(f"conditions[{index}]: the label is text.")
    return errors


def _split(config: Mapping[str, Any]) -> list[str]:
    variants = config.get("variants", [{"weight": 50}, {"weight": 50}])
    if not isinstance(variants, list) or not 2 <= len(variants) <= splits.MAX_VARIANTS:
        return [f"variants is a list of 2 to {splits.MAX_VARIANTS} {{label, weight}}."]
    errors = []
    for index, variant in enumerate(variants):
        weight = variant.get("weight") if isinstance(variant, Mapping) else None
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
            errors.append(f"variants[{index}]: the weight is a whole number from 0 to 100.")
    if not errors and sum(variant["weight"] for variant in variants) <= 0:
        errors.append("At least one variant needs a weight above 0.")
    min_sends = config.get("min_sends", splits.DEFAULT_MIN_SENDS)
    if not isinstance(min_sends, int) or isinstance(min_sends, bool) or min_sends < 1:
        errors.append("min_sends is a whole number, 1 or more.")
    confidence = config.get("confidence", splits.DEFAULT_CONFIDENCE)
    if not isinstance(confidence, int | float) or not 0.5 <= confidence < 1:
        errors.append("confidence is a number from 0.5 to below 1, such as 0.95.")
    winner = config.get("winner")
    if winner not in (None, "") and winner not in [f"v{i}" for i in range(len(variants))]:
        errors.append("winner is empty or a variant's port (v0, v1, ...).")
    return errors


def _sms(config: Mapping[str, Any]) -> list[str]:
    body = config.get("body", "")
    if not isinstance(body, str) or not body.strip():
        return ["An SMS node needs its text (body)."]
    return ["body: at most 1600 characters."] if len(body) > 1600 else []


def _task(config: Mapping[str, Any]) -> list[str]:
    errors = []
    if not isinstance(config.get("title", "Follow up"), str):
        errors.append("title is text.")
    for name in ("due_hours", "due_business_days"):
        value = config.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            errors.append(f"{name} is a whole number, 0 or more.")
    return errors


def _notify(config: Mapping[str, Any]) -> list[str]:
    to = config.get("to", "owner")
    if to not in ("owner", "team", "webhook"):
        return ["to is owner, team or webhook."]
    if to == "team" and not str(config.get("address") or "").strip():
        return ["address: give the team's address."]
    if to == "webhook" and not str(config.get("url") or "").strip():
        return ["url: give the webhook's URL."]
    return []


def _update(config: Mapping[str, Any]) -> list[str]:
    action = config.get("action", "stage")
    if action == "stage":
        return [] if config.get("stage") in Lead.Stage.values else ["stage: choose a stage."]
    if action == "field":
        if config.get("field") in UPDATE_FIELDS:
            return []
        return [f"field is one of {', '.join(UPDATE_FIELDS)}."]
    if action == "note":
        text = config.get("text") or config.get("note") or ""
        return [] if str(text).strip() else ["text: write the note."]
    return ["action is stage, field or note."]


def _goal(config: Mapping[str, Any]) -> list[str]:
    event = config.get("event", goals.BOOKED)
    if event not in goals.EVENTS:
        return [f"event is one of {', '.join(goals.EVENTS)}."]
    if event == goals.STAGE and config.get("stage") not in Lead.Stage.values:
        return ["stage: choose the stage that counts as the goal."]
    return []


_CONFIG_CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    Node.Kind.WAIT: _wait,
    Node.Kind.WAIT_UNTIL: _wait_until,
    Node.Kind.BRANCH: _branch,
    Node.Kind.SPLIT: _split,
    Node.Kind.SMS: _sms,
    Node.Kind.TASK: _task,
    Node.Kind.NOTIFY: _notify,
    Node.Kind.UPDATE: _update,
    Node.Kind.GOAL: _goal,
}


def trigger_config_errors(kind: str, config: Any) -> list[str]:
    if not isinstance(config, Mapping):
        return ["A trigger's config is an object."]
    if kind == Trigger.Kind.FORM:
        page = config.get("page")
        if page in (None, ""):
            return []
        if not isinstance(page, int) or not LandingPage.objects.filter(pk=page).exists():
            return ["page: no such landing page."]
    if kind in (Trigger.Kind.PAGE_VIEW,) and not str(config.get("url") or "").strip():
        return ["url: give the page (a URL or a pattern such as */pricing*)."]
    if kind == Trigger.Kind.PAGE_VIEW:
        for name in ("count", "within_days"):
            value = config.get(name, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                return [f"{name} is a whole number, 1 or more."]
    if kind == Trigger.Kind.CUSTOM_EVENT and not str(config.get("name") or "").strip():
        return ["name: give the event's name."]
    if kind == Trigger.Kind.SCORE and not isinstance(config.get("at_least"), int):
        return ["at_least: give the score (a whole number)."]
    if kind == Trigger.Kind.TEMPERATURE and config.get("temperature") not in (
        Lead.Temperature.values
    ):
        return ["temperature is hot, warm or cold."]
    if kind == Trigger.Kind.STAGE and config.get("stage") not in Lead.Stage.values:
        return ["stage: choose a stage."]
    if kind == Trigger.Kind.SEGMENT and not isinstance(config.get("segment"), int):
        return ["segment: give the segment's id."]
    return []


# -- serializers ----------------------------------------------------------------------------


class EmailContentSerializer(StepSerializer):
    """An email node's content, checked as a step is (merge fields, the button's link)."""

    # DRF's way to drop an inherited field; the stubs type the field, not the idiom.
    sequence = None  # type: ignore[assignment]
    day = None  # type: ignore[assignment]
    only_temperatures = None  # type: ignore[assignment]

    class Meta(StepSerializer.Meta):
        fields = EMAIL_FIELDS  # type: ignore[assignment]
        read_only_fields = ()  # type: ignore[assignment]


class NodeSerializer(serializers.ModelSerializer[Node]):
    journey = serializers.IntegerField(source="sequence_id", read_only=True)
    kind = serializers.ChoiceField(choices=Node.Kind.choices)
    config = serializers.JSONField(
        required=False, help_text="What the node's kind needs, e.g. a wait's amount and unit."
    )
    email = EmailContentSerializer(
        source="step", required=False, allow_null=True, help_text="An email node's content."
    )

    class Meta:
        model = Node
        fields = ("id", "journey", "kind", "name", "config", "email", "created_at")
        read_only_fields = ("id", "created_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        node = self.instance
        errors: dict[str, list[str]] = {}
        if node is not None and attrs.get("kind", node.kind) != node.kind:
            errors["kind"] = ["A node keeps its kind: add a new node instead."]
        kind = attrs.get("kind", getattr(node, "kind", ""))
        config = attrs.get("config", getattr(node, "config", {}))
        config_errors = node_config_errors(kind, config)
        if config_errors:
            errors["config"] = config_errors
        email = attrs.get("step")
        if kind == Node.Kind.EMAIL and node is None and not email:
            errors["email"] = ["An email node needs its email: a subject and a body."]
        if kind != Node.Kind.EMAIL and email:
            errors["email"] = ["Only an email node has an email."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class EdgeSerializer(serializers.ModelSerializer[Edge]):
    class Meta:
        model = Edge
        fields = ("id", "source", "port", "target")
        read_only_fields = ("id",)
        validators: list[Any] = []  # one arrow per port: a POST on a taken port re-aims it

    def __init__(self, *args: Any, journey: Sequence | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if journey is not None:
            nodes = Node.objects.filter(sequence=journey)
            for name in ("source", "target"):
                field = cast(serializers.PrimaryKeyRelatedField[Node], self.fields[name])
                field.queryset = nodes  # type: ignore[arg-type]  # the stubs read a descriptor

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        source, target, port = attrs["source"], attrs["target"], attrs["port"]
        if source.pk == target.pk:
            raise serializers.ValidationError({"target": ["An arrow leads to another node."]})
        allowed = editing.ports(source)
        if port not in allowed:
            raise serializers.ValidationError(
                {"port": [f"“{source}” has the ports {', '.join(allowed) or 'none'}."]}
            )
        return attrs


class TriggerSerializer(serializers.ModelSerializer[Trigger]):
    kind = serializers.ChoiceField(choices=Trigger.Kind.choices)
    config = serializers.JSONField(required=False)

    class Meta:
        model = Trigger
        fields = ("id", "kind", "config", "created_at")
        read_only_fields = ("id", "created_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = trigger_config_errors(attrs["kind"], attrs.get("config", {}))
        if errors:
            raise serializers.ValidationError({"config": errors})
        return attrs


class JourneySerializer(SequenceSerializer[Journey]):
    """A journey's settings, with its graph (read only here: see the nodes, edges and
    triggers endpoints)."""

    steps = None  # type: ignore[assignment]  # DRF: the inherited field dropped
    start_node = serializers.PrimaryKeyRelatedField(
        queryset=Node.objects.all(), required=False, allow_null=True
    )
    nodes = NodeSerializer(many=True, read_only=True)
    edges = serializers.SerializerMethodField()
    triggers = TriggerSerializer(many=True, read_only=True)

    class Meta:
        model = Journey
        fields = (
            "id",
            "name",
            "status",
            "reentry",
            "reentry_days",
            "start_node",
            "window_start_hour",
            "window_end_hour",
            "weekdays",
            "fallback_time_zone",
            "hand_hot_leads_to_sales",
            "track_engagement",
            "created_at",
            "nodes",
            "edges",
            "triggers",
        )
        read_only_fields = ("id", "created_at")
        extra_kwargs = {
            "reentry_days": {
                "min_value": 1,
                "max_value": 3650,
                "error_messages": {"min_value": "Enter at least 1 day."},
            }
        }

    def validate_start_node(self, node: Node | None) -> Node | None:
        if node is not None and (self.instance is None or node.sequence_id != self.instance.pk):
            raise serializers.ValidationError("The start node is one of this journey's nodes.")
        return node

    @extend_schema_field(EdgeSerializer(many=True))
    def get_edges(self, journey: Journey) -> list[dict[str, Any]]:
        # From the prefetched nodes (see JourneyViewSet.queryset): no query per journey.
        edges = sorted(
            (edge for node in journey.nodes.all() for edge in node.edges.all()),
            key=lambda edge: edge.pk,
        )
        return list(EdgeSerializer(edges, many=True).data)


class GraphNodeSerializer(NodeSerializer):
    key = serializers.CharField(max_length=50, help_text="Names the node in `edges` and `start`.")

    class Meta(NodeSerializer.Meta):
        fields = ("key", *NodeSerializer.Meta.fields)  # type: ignore[assignment]


class GraphEdgeSerializer(serializers.Serializer[Any]):
    # The stubs read this as Field.source; DRF's metaclass takes declared fields off the class.
    source = serializers.CharField(max_length=50, help_text="A node's key.")  # type: ignore[assignment]
    port = serializers.CharField(max_length=20, default="next")
    target = serializers.CharField(max_length=50, help_text="A node's key.")


class JourneyCreateSerializer(JourneySerializer):
    """A whole journey in one request: settings, nodes by key, arrows between keys, the start
    key and the triggers. It is created paused unless `status` is "active", which publishes
    it (and is refused, with nothing created, if it could not go live)."""

    start_node = None  # type: ignore[assignment]  # DRF: the inherited field dropped
    status = serializers.ChoiceField(choices=Sequence.Status.choices, default="paused")
    nodes = GraphNodeSerializer(many=True, write_only=True)
    edges = GraphEdgeSerializer(many=True, write_only=True, required=False)  # type: ignore[assignment]
    start = serializers.CharField(max_length=50, write_only=True, help_text="The first node's key.")
    triggers = TriggerSerializer(many=True, write_only=True, required=False)

    class Meta(JourneySerializer.Meta):
        fields = (  # type: ignore[assignment]
            *(name for name in JourneySerializer.Meta.fields if name != "start_node"),
            "start",
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        nodes = attrs["nodes"]
        errors: dict[str, list[str]] = {}
        keys = [node["key"] for node in nodes]
        if not nodes:
            errors["nodes"] = ["A journey needs at least its first node."]
        elif len(nodes) > MAX_NODES:
            errors["nodes"] = [f"At most {MAX_NODES} nodes."]
        elif len(set(keys)) != len(keys):
            errors["nodes"] = ["Each node's key is used once."]
        shapes = {
            node["key"]: Node(kind=node["kind"], config=node.get("config") or {}) for node in nodes
        }
        taken: set[tuple[str, str]] = set()
        for index, edge in enumerate(attrs.get("edges", [])):
            where = f"edges[{index}]"
            source, target, port = edge["source"], edge["target"], edge["port"]
            if source not in shapes or target not in shapes:
                errors[where] = ["source and target are keys of nodes in this journey."]
            elif source == target:
                errors[where] = ["An arrow leads to another node."]
            elif port not in editing.ports(shapes[source]):
                allowed = ", ".join(editing.ports(shapes[source])) or "none"
                errors[where] = [f"“{source}” has the ports {allowed}."]
            elif (source, port) in taken:
                errors[where] = [f"“{source}” has one arrow on “{port}”."]
            taken.add((source, port))
        if attrs["start"] not in shapes:
            errors["start"] = ["The start is the key of one of the nodes."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class JourneyEnrollmentSerializer(serializers.ModelSerializer[Enrollment]):
    journey = serializers.IntegerField(source="sequence_id", read_only=True)
    exit_reason = serializers.ChoiceField(
        choices=Enrollment.ExitReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Enrollment
        fields = (
            "id",
            "lead",
            "journey",
            "state",
            "exit_reason",
            "round",
            "trigger",
            "current_node",
            "node_entered_at",
            "next_at",
            "started_at",
            "ended_at",
            "converted_at",
        )
        read_only_fields = fields


class EnrollInJourneySerializer(serializers.Serializer[Any]):
    lead = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    email = serializers.EmailField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lead" in attrs) == ("email" in attrs):
            raise serializers.ValidationError({"lead": ["Give the lead's id or its email."]})
        leads = Lead.objects.all()
        lead = (
            leads.filter(pk=attrs["lead"]).first()
            if "lead" in attrs
            else leads.filter(email__iexact=attrs["email"].strip()).first()
        )
        field = "lead" if "lead" in attrs else "email"
        if lead is None:
            raise serializers.ValidationError({field: ["No such lead."]})
        attrs["lead_obj"] = lead
        return attrs


class PathStepSerializer(serializers.ModelSerializer[PathStep]):
    node_kind = serializers.ChoiceField(choices=Node.Kind.choices, read_only=True)

    class Meta:
        model = PathStep
        fields = ("node", "node_name", "node_kind", "entered_at", "via", "result")
        read_only_fields = fields


class NodeRemovedSerializer(serializers.Serializer[Any]):
    moved = serializers.IntegerField(help_text="Leads that were waiting on it and moved on.")


class EnrollmentPathSerializer(serializers.Serializer[Any]):
    enrollment = JourneyEnrollmentSerializer()
    path = PathStepSerializer(many=True)


# -- permissions ----------------------------------------------------------------------------


class JourneyPermission(permissions.BasePermission):
    """A journey is a row of the sequences table: the groups' sequence permissions (or the
    Journey model's own, where a group is given those) decide. Reading needs `view`; a
    write also needs the view's `write_permission()` (`change` unless it says otherwise)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        actions = ["view"]
        if request.method not in permissions.SAFE_METHODS:
            actions.append(getattr(view, "write_permission", lambda: "change")())
        return all(_may(signed_in(user), action) for action in actions)


def _may(user: User, action: str) -> bool:
    if action == "enroll":
        return user.has_perm("nurture.add_enrollment")
    return user.has_perm(f"nurture.{action}_journey") or user.has_perm(f"nurture.{action}_sequence")


def _refused(exc: DjangoValidationError, field: str) -> exceptions.APIException:
    """A service's refusal as the API's 400, fields kept."""
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({field: exc.messages})


# -- views ----------------------------------------------------------------------------------


class _InJourney:
    """Nested under /journeys/{journey_pk}/: the journey comes first (404 if there is none)."""

    kwargs: dict[str, Any]

    def journey(self) -> Journey:
        if not hasattr(self, "_journey"):
            self._journey = get_object_or_404(Journey, pk=self.kwargs["journey_pk"])
        return self._journey


@extend_schema_view(
    list=extend_schema(
        tags=[TAG], responses={200: JourneySerializer(many=True), **error_responses(400, 404)}
    ),
    retrieve=extend_schema(tags=[TAG], responses={200: JourneySerializer, **error_responses(404)}),
    update=extend_schema(
        tags=[TAG], responses={200: JourneySerializer, **error_responses(400, 404)}
    ),
    partial_update=extend_schema(
        tags=[TAG], responses={200: JourneySerializer, **error_responses(400, 404)}
    ),
)
class JourneyViewSet(viewsets.GenericViewSet[Journey]):
    serializer_class = JourneySerializer
    permission_classes = [JourneyPermission]
    queryset = Journey.objects.prefetch_related("nodes__step", "nodes__edges", "triggers").order_by(
        "-id"
    )

    def write_permission(self) -> str:
        return {"create": "add", "enroll": "enroll"}.get(self.action, "change")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(JourneySerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(JourneySerializer(self.get_object()).data)

    @extend_schema(
        tags=[TAG],
        request=JourneyCreateSerializer,
        responses={201: JourneySerializer, **error_responses(400, 422)},
        parameters=[idempotency_key(effect="creates one journey")],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = JourneyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        graph = {name: fields.pop(name, []) for name in ("nodes", "edges", "triggers")}
        start, wanted = fields.pop("start"), fields.pop("status")
        try:
            with transaction.atomic():
                journey = journeys.build(
                    nodes={
                        node["key"]: {
                            "kind": node["kind"],
                            "name": node.get("name", ""),
                            "config": node.get("config") or {},
                            "email": node.get("step"),
                        }
                        for node in graph["nodes"]
                    },
                    edges=[(e["source"], e["port"], e["target"]) for e in graph["edges"]],
                    start=start,
                    triggers=[(t["kind"], t.get("config") or {}) for t in graph["triggers"]],
                    status=Sequence.Status.PAUSED,
                    **fields,
                )
                if wanted == Sequence.Status.ACTIVE:
                    editing.publish(journey=journey)
        except DjangoValidationError as exc:
            raise _refused(exc, "status") from exc
        journey = self.get_queryset().get(pk=journey.pk)
        return Response(JourneySerializer(journey).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        journey = self.get_object()
        data = JourneySerializer(journey, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        wanted = data.validated_data.pop("status", journey.status)
        try:
            with transaction.atomic():
                data.save()
                if wanted != journey.status:
                    if wanted == Sequence.Status.ACTIVE:
                        editing.publish(journey=journey)
                    else:
                        editing.pause(journey=journey)
        except DjangoValidationError as exc:
            raise _refused(exc, "status") from exc
        return Response(JourneySerializer(self.get_queryset().get(pk=journey.pk)).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        tags=[TAG],
        request=EnrollInJourneySerializer,
        responses={201: JourneyEnrollmentSerializer, **error_responses(400, 404, 422)},
        parameters=[idempotency_key(effect="enrolls once")],
        description="Enroll a lead (by id or email) at the journey's first node, as a manual "
        "trigger would. 400 when the journey is paused or has no first node, the lead is "
        "unknown or erased, or the journey's re-entry rule refuses the lead.",
    )
    @idempotent
    def enroll(self, request: Request, pk: str) -> Response:
        journey = self.get_object()
        data = EnrollInJourneySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = data.validated_data["lead_obj"]
        refusal = triggers.journey_refusal(journey=journey)
        if refusal:
            raise serializers.ValidationError({"journey": [refusal]})
        try:
            enrollment = triggers.enroll_manually(
                lead_id=lead.pk, journey_id=journey.pk, by=f"API, {request.user.get_username()}"
            )
        except triggers.JourneyRefused as refused:
            raise serializers.ValidationError({"lead": [str(refused)]}) from refused
        return Response(
            JourneyEnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(
        tags=[TAG], responses={200: NodeSerializer(many=True), **error_responses(404)}
    ),
    retrieve=extend_schema(tags=[TAG], responses={200: NodeSerializer, **error_responses(404)}),
)
class NodeViewSet(_InJourney, viewsets.GenericViewSet[Node]):
    serializer_class = NodeSerializer
    permission_classes = [JourneyPermission]
    pagination_class = None  # a journey's nodes are few and read as one graph

    def get_queryset(self) -> QuerySet[Node]:
        return Node.objects.filter(sequence=self.journey()).select_related("step").order_by("pk")

    def list(self, request: Request, journey_pk: str) -> Response:
        return Response(NodeSerializer(self.get_queryset(), many=True).data)

    def retrieve(self, request: Request, journey_pk: str, pk: str) -> Response:
        return Response(NodeSerializer(self.get_object()).data)

    @extend_schema(tags=[TAG], responses={201: NodeSerializer, **error_responses(400, 404)})
    def create(self, request: Request, journey_pk: str) -> Response:
        data = NodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        node = journeys.create_node(
            journey=self.journey(),
            kind=fields["kind"],
            name=fields.get("name", ""),
            config=fields.get("config") or {},
            email=fields.get("step"),
        )
        node = self.get_queryset().get(pk=node.pk)
        return Response(NodeSerializer(node).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=[TAG], responses={200: NodeSerializer, **error_responses(400, 404)})
    def partial_update(self, request: Request, journey_pk: str, pk: str) -> Response:
        node = self.get_object()
        data = NodeSerializer(node, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        editing.update_node(
            node=node,
            name=fields.get("name", node.name),
            config=fields.get("config", node.config),
            email=fields.get("step"),
        )
        return Response(NodeSerializer(self.get_queryset().get(pk=node.pk)).data)

    @extend_schema(
        tags=[TAG],
        responses={200: NodeRemovedSerializer, **error_responses(400, 404)},
        description="Remove the node: arrows into it lead on to its successor, and the leads "
        "waiting on it move there. `moved` says how many did. Refused (400) while a wait or "
        "a branch still names it.",
    )
    def destroy(self, request: Request, journey_pk: str, pk: str) -> Response:
        try:
            moved = editing.remove_node(node=self.get_object())
        except DjangoValidationError as exc:
            raise _refused(exc, "node") from exc
        return Response({"moved": moved})


@extend_schema_view(
    list=extend_schema(
        tags=[TAG], responses={200: EdgeSerializer(many=True), **error_responses(404)}
    ),
)
class EdgeViewSet(_InJourney, viewsets.GenericViewSet[Edge]):
    serializer_class = EdgeSerializer
    permission_classes = [JourneyPermission]
    pagination_class = None

    def get_queryset(self) -> QuerySet[Edge]:
        return Edge.objects.filter(source__sequence=self.journey()).order_by("pk")

    def list(self, request: Request, journey_pk: str) -> Response:
        return Response(EdgeSerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        tags=[TAG],
        responses={201: EdgeSerializer, **error_responses(400, 404)},
        description="An arrow from `source`'s `port` to `target`. A port has one arrow: "
        "posting on a port that has one re-aims it.",
    )
    def create(self, request: Request, journey_pk: str) -> Response:
        data = EdgeSerializer(data=request.data, journey=self.journey())
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        edge = journeys.connect(
            source=fields["source"], target=fields["target"], port=fields["port"]
        )
        return Response(EdgeSerializer(edge).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=[TAG], responses={204: None, **error_responses(404)})
    def destroy(self, request: Request, journey_pk: str, pk: str) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        tags=[TAG], responses={200: TriggerSerializer(many=True), **error_responses(404)}
    ),
)
class TriggerViewSet(_InJourney, viewsets.GenericViewSet[Trigger]):
    serializer_class = TriggerSerializer
    permission_classes = [JourneyPermission]
    pagination_class = None

    def get_queryset(self) -> QuerySet[Trigger]:
        return Trigger.objects.filter(sequence=self.journey()).order_by("pk")

    def list(self, request: Request, journey_pk: str) -> Response:
        return Response(TriggerSerializer(self.get_queryset(), many=True).data)

    @extend_schema(tags=[TAG], responses={201: TriggerSerializer, **error_responses(400, 404)})
    def create(self, request: Request, journey_pk: str) -> Response:
        data = TriggerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trigger = editing.add_trigger(
            journey=self.journey(),
            kind=data.validated_data["kind"],
            config=data.validated_data.get("config") or {},
        )
        return Response(TriggerSerializer(trigger).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=[TAG], responses={204: None, **error_responses(404)})
    def destroy(self, request: Request, journey_pk: str, pk: str) -> Response:
        editing.remove_trigger(trigger=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EnrollmentPathView(generics.GenericAPIView[Enrollment]):
    permission_classes = [HasPermissions.of("nurture.view_enrollment")]
    serializer_class = EnrollmentPathSerializer
    queryset = Enrollment.objects.all()

    @extend_schema(
        tags=["enrollments"],
        responses={200: EnrollmentPathSerializer, **error_responses(404)},
        description="The lead's way through its journey: each node it reached, when, and why "
        'it came that way (`via`: "branch: clicked Day 2 → yes").',
    )
    def get(self, request: Request, pk: int) -> Response:
        enrollment = self.get_object()
        steps = PathStep.objects.filter(enrollment=enrollment).order_by("entered_at", "pk")
        return Response(
            {
                "enrollment": JourneyEnrollmentSerializer(enrollment).data,
                "path": PathStepSerializer(steps, many=True).data,
            }
        )


_COLLECTION: dict[str, Any] = {"get": "list", "post": "create"}
_MEMBER: dict[str, Any] = {"get": "retrieve", "put": "update", "patch": "partial_update"}
urlpatterns = [
    path("journeys/", JourneyViewSet.as_view(_COLLECTION), name="journeys"),
    path("journeys/<int:pk>/", JourneyViewSet.as_view(_MEMBER), name="journey"),
    path(
        "journeys/<int:pk>/enroll/",
        JourneyViewSet.as_view({"post": "enroll"}),
        name="journey-enroll",
    ),
    path(
        "journeys/<int:journey_pk>/nodes/", NodeViewSet.as_view(_COLLECTION), name="journey-nodes"
    ),
    path(
        "journeys/<int:journey_pk>/nodes/<int:pk>/",
        NodeViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="journey-node",
    ),
    path(
        "journeys/<int:journey_pk>/edges/", EdgeViewSet.as_view(_COLLECTION), name="journey-edges"
    ),
    path(
        "journeys/<int:journey_pk>/edges/<int:pk>/",
        EdgeViewSet.as_view({"delete": "destroy"}),
        name="journey-edge",
    ),
    path(
        "journeys/<int:journey_pk>/triggers/",
        TriggerViewSet.as_view(_COLLECTION),
        name="journey-triggers",
    ),
    path(
        "journeys/<int:journey_pk>/triggers/<int:pk>/",
        TriggerViewSet.as_view({"delete": "destroy"}),
        name="journey-trigger",
    ),
    path("enrollments/<int:pk>/path/", EnrollmentPathView.as_view(), name="enrollment-path"),
]
