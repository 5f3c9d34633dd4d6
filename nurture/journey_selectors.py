"""Reads about journeys that the map, the report and the API share."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q

from nurture.models import Delivery, Edge, Enrollment, Node, PathStep, Sequence


@dataclass(frozen=True)
class NodeFigures:
    entered: int = 0
    waiting: int = 0
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0

    def rate(self, part: int) -> float | None:
        base = self.sent or self.entered
        return part / base if base else None


def node_figures(*, journey: Sequence) -> dict[int, NodeFigures]:
    """Per node: leads that entered it, wait there now, and its email's sends, opens, clicks;
    `converted` counts leads that converted after passing the node. Four grouped queries."""
    entered = dict(
        PathStep.objects.filter(node__sequence=journey)
        .values_list("node_id")
        .annotate(n=Count("pk"))
    )
    waiting = dict(
        Enrollment.objects.filter(
            sequence=journey, state=Enrollment.State.ACTIVE, current_node__isnull=False
        )
        .values_list("current_node_id")
        .annotate(n=Count("pk"))
    )
    emails = {
        row["node_id"]: row
        for row in Delivery.objects.filter(node__sequence=journey)
        .values("node_id")
        .annotate(
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    }
    converted = dict(
        PathStep.objects.filter(node__sequence=journey, enrollment__converted_at__isnull=False)
        .values_list("node_id")
        .annotate(n=Count("enrollment", distinct=True))
    )
    figures: dict[int, NodeFigures] = defaultdict(NodeFigures)
    for node_id in Node.objects.filter(sequence=journey).values_list("pk", flat=True):
        email: Mapping[str, Any] = emails.get(node_id, {})
        figures[node_id] = NodeFigures(
            entered=entered.get(node_id, 0),
            waiting=waiting.get(node_id, 0),
            sent=email.get("sent", 0),
            opened=email.get("opened", 0),
            clicked=email.get("clicked", 0),
            converted=converted.get(node_id, 0),
        )
    return dict(figures)


@dataclass(frozen=True)
class FunnelRow:
    node_id: int
    name: str
    kind: str
    figures: NodeFigures

    @property
    def kind_label(self) -> str:
        return Node.Kind(self.kind).label


@dataclass(frozen=True)
class JourneyReport:
    entered: int
    active: int
    converted: int
    median_to_convert: timedelta | None
    funnel: list[FunnelRow]

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.entered if self.entered else None


class _Median(Aggregate):
    """PostgreSQL's median of an interval (or number): half the rows at or below it."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def journey_report(journey: Sequence) -> JourneyReport:
    """Entered, converted (goal), the median time to convert, and the per-node funnel in the
    graph's order (from the start node along the arrows)."""
    enrollments = Enrollment.objects.filter(sequence=journey)
    totals = enrollments.aggregate(
        entered=Count("pk"),
        active=Count("pk", filter=Q(state=Enrollment.State.ACTIVE)),
        converted=Count("pk", filter=Q(converted_at__isnull=False)),
    )
    converted = enrollments.filter(converted_at__isnull=False)
    to_convert = ExpressionWrapper(F("converted_at") - F("started_at"), DurationField())
    if connection.vendor == "postgresql":
        median = converted.aggregate(median=_Median(to_convert))["median"]
    else:
        spans = sorted(converted.annotate(span=to_convert).values_list("span", flat=True))
        median = _median(spans)
    figures = node_figures(journey=journey)
    nodes = {node.pk: node for node in Node.objects.filter(sequence=journey)}
    funnel = [
        FunnelRow(node_id=pk, name=str(nodes[pk]), kind=nodes[pk].kind, figures=figures[pk])
        for pk in graph_order(journey=journey, node_ids=list(nodes))
    ]
    return JourneyReport(
        entered=totals["entered"],
        active=totals["active"],
        converted=totals["converted"],
        median_to_convert=median,
        funnel=funnel,
    )


def graph_order(*, journey: Sequence, node_ids: list[int]) -> list[int]:
    """Nodes breadth-first from the start node (ports in their order), then any unreachable
    ones by id, so a funnel reads top to bottom the way the map does."""
    following: dict[int, list[int]] = defaultdict(list)
    for source, target in (
        Edge.objects.filter(source__sequence=journey)
        .order_by("source", "port")
        .values_list("source_id", "target_id")
    ):
        following[source].append(target)
    order: list[int] = []
    queue = [journey.start_node_id] if journey.start_node_id in node_ids else []
    seen = set(queue)
    while queue:
        current = queue.pop(0)
        order.append(current)
        for target in following[current]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return order + sorted(set(node_ids) - seen)


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2
