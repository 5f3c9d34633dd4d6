"""Editing a journey on its map: insert, append, change and remove nodes, publish.

Each service is one transaction and locks the journey row first, so two marketers editing
the same map apply their changes one after the other. A live journey's leads follow the
graph as it is when they move, so a new node reaches every lead that has not passed its
place; a removed node's waiting leads move on to its successor (the `preview_*` functions
say how many, for the confirm step), and sent emails stay in history (their Step rows are
kept; only the node goes). An email that a wait-until or a branch names ("clicked “Day 2”")
is not removed until those are changed: they would wait for an email that no longer exists.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from nurture.models import Delivery, Edge, Enrollment, Node, Sequence, Step, Trigger
from nurture.services import conditions, goals, splits, timing
from nurture.services.journeys import EMAIL_FIELDS, connect, create_node

LIVE = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)
# Config keys the engine writes, not the marketer (see splits.decide).
ENGINE_KEYS = ("winner", "decided_at", "decided_p")
# Where a removed node's leads go: its "next" arrow, a branch's "otherwise", a wait-until's
# "timed out" (the path taken when nothing happens), a split's first variant.
SUCCESSOR_PORTS = ("next", "else", "timeout", "v0", "yes")
DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    Node.Kind.WAIT: {"amount": 1, "unit": timing.DAYS},
    Node.Kind.WAIT_UNTIL: {
        "event": {"field": "clicked"},
        "timeout": {"amount": 3, "unit": timing.DAYS},
    },
    Node.Kind.BRANCH: {"conditions": []},
    Node.Kind.SPLIT: {
        "variants": [{"label": "A", "weight": 50}, {"label": "B", "weight": 50}],
        "auto_winner": False,
        "min_sends": splits.DEFAULT_MIN_SENDS,
        "confidence": splits.DEFAULT_CONFIDENCE,
    },
    Node.Kind.SMS: {"body": ""},
    Node.Kind.TASK: {"title": "Follow up with {{ name }}", "owner": "owner", "due_hours": 24},
    Node.Kind.NOTIFY: {"to": "owner", "message": ""},
    Node.Kind.UPDATE: {"action": "stage", "stage": "sales_ready"},
    Node.Kind.GOAL: {"event": goals.BOOKED},
}


@dataclass(frozen=True)
class Preview:
    """What a change would do, for the marketer to confirm."""

    moves: int
    message: str
    # Nodes the change leaves unreachable (a removed branch's other paths).
    orphaned: list[str] = field(default_factory=list)
    # Why the change may not be made (a removed email that a wait or branch still names).
    refusal: str = ""


# -- the graph's shape ----------------------------------------------------------------------


def ports(node: Node) -> list[str]:
    """The arrows a node may have, in the order the map shows them."""
    if node.kind == Node.Kind.BRANCH:
        return [f"c{i}" for i in range(len(node.config.get("conditions") or []))] + ["else"]
    if node.kind == Node.Kind.SPLIT:
        return [f"v{i}" for i in range(len(splits.variants(node)))]
    if node.kind == Node.Kind.WAIT_UNTIL:
        return ["yes", "timeout"]
    if node.kind == Node.Kind.GOAL:
        return []
    return ["next"]


def port_label(node: Node, port: str, *, node_names: Mapping[int, str] | None = None) -> str:
    """How an arrow is labelled: "yes", "timed out", "hot", "otherwise", "variant A"."""
    if port == "next":
        return ""
    if port == "yes":
        return "yes"
    if port == "timeout":
        return "timed out"
    if port == "else":
        return "otherwise"
    index = int(port[1:]) if port[1:].isdigit() else -1
    if port.startswith("c"):
        rules = node.config.get("conditions") or []
        if 0 <= index < len(rules):
            rule = rules[index]
            return rule.get("label") or conditions.describe(
                rule.get("when", rule), node_names=node_names
            )
    if port.startswith("v"):
        options = splits.variants(node)
        if 0 <= index < len(options):
            return f"variant {options[index].get('label') or chr(ord('A') + index)}"
    return port


def successor(node: Node) -> Node | None:
    targets = {edge.port: edge.target for edge in node.edges.select_related("target")}
    for port in SUCCESSOR_PORTS:
        if port in targets:
            return targets[port]
    return None


def _waiting(node: Node) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(current_node=node, state__in=LIVE)


def _reachable(journey: Sequence, *, without: Node | None = None) -> set[int]:
    """Node ids reachable from the start (as if `without` were replaced by its successor)."""
    edges: dict[int, list[int]] = {}
    for source, target in Edge.objects.filter(source__sequence=journey).values_list(
        "source_id", "target_id"
    ):
        edges.setdefault(source, []).append(target)
    start = journey.start_node_id
    if without is not None:
        after = successor(without)
        replacement = after.pk if after else None
        if start == without.pk:
            start = replacement
        edges = {
            source: [t for t in (replacement if t == without.pk else t for t in targets) if t]
            for source, targets in edges.items()
            if source != without.pk
        }
    seen: set[int] = set()
    stack = [start] if start else []
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, []))
    return seen


def referring_nodes(node: Node) -> list[Node]:
    """The wait-untils and branches whose conditions name `node` ("clicked “Day 2”"): with
    it gone they would wait for an email that no longer exists, and take the timeout."""

    def names_it(condition: Mapping[str, Any]) -> bool:
        return str(condition.get("node", "")) == str(node.pk)

    found = []
    for other in Node.objects.filter(
        sequence_id=node.sequence_id, kind__in=(Node.Kind.WAIT_UNTIL, Node.Kind.BRANCH)
    ).order_by("pk"):
        config = other.config or {}
        if other.kind == Node.Kind.WAIT_UNTIL:
            used = names_it(config.get("event") or {})
        else:
            used = any(names_it(rule.get("when", rule)) for rule in config.get("conditions") or [])
        if used:
            found.append(other)
    return found


def removal_refusal(node: Node) -> str:
    """Why `node` may not be removed yet ("" when it may)."""
    users = referring_nodes(node)
    if not users:
        return ""
    names = [f"“{user}”" for user in users]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"“{node}” is used by {listed}: change {'that' if len(names) == 1 else 'those'} first."


# -- previews -------------------------------------------------------------------------------


def preview_remove(*, node: Node) -> Preview:
    waiting = _waiting(node).count()
    after = successor(node)
    name = str(node)
    where = "end the journey (nothing follows it)" if after is None else f"move on to “{after}”"
    leads = "1 lead waits" if waiting == 1 else f"{waiting} leads wait"
    message = f"{leads} at “{name}”; removing it, {'it' if waiting == 1 else 'they'} {where}."
    if not waiting:
        message = f"No lead waits at “{name}”; removing it moves nobody."
    before = _reachable(node.sequence)
    after_removal = _reachable(node.sequence, without=node)
    lost = before - after_removal - {node.pk}
    orphaned = [str(n) for n in Node.objects.filter(pk__in=lost)]
    return Preview(moves=waiting, message=message, orphaned=orphaned, refusal=removal_refusal(node))


def preview_insert(*, edge: Edge | None = None, node: Node | None = None) -> Preview:
    """Inserting on `edge`, or after `node`: the leads now at the node before the new one
    pass through it when they move on (those already past it are not sent back)."""
    before = edge.source if edge is not None else node
    if before is None:
        raise ValueError("an edge or a node")
    waiting = _waiting(before).count()
    if not waiting:
        return Preview(
            moves=0,
            message=f"No lead waits at “{before}”; the new node reaches "
            "leads that enter from now on.",
        )
    leads = "1 lead waiting" if waiting == 1 else f"{waiting} leads waiting"
    return Preview(
        moves=waiting,
        message=f"{leads} at “{before}” will go through the new node next.",
    )


# -- changes --------------------------------------------------------------------------------


def _lock(journey: Sequence) -> Sequence:
    return Sequence.objects.select_for_update().get(pk=journey.pk)


def _new_node(*, journey: Sequence, kind: str, name: str = "") -> Node:
    if kind not in Node.Kind.values:
        raise ValidationError(f"Unknown node kind {kind!r}.")
    label = name or Node.Kind(kind).label
    email = {"subject": "", "body": ""} if kind == Node.Kind.EMAIL else None
    return create_node(
        journey=journey, kind=kind, name=label, config=DEFAULT_CONFIG.get(kind, {}), email=email
    )


def insert_between(*, edge: Edge, kind: str, name: str = "") -> Node:
    """A new node on an arrow: source → new → old target (every port of the new one)."""
    if kind == Node.Kind.GOAL:
        raise ValidationError("A goal ends the journey: add it after a last node instead.")
    with transaction.atomic():
        journey = _lock(edge.source.sequence)
        edge = Edge.objects.select_for_update().get(pk=edge.pk)
        target = edge.target
        node = _new_node(journey=journey, kind=kind, name=name)
        Edge.objects.filter(pk=edge.pk).update(target=node)
        for port in ports(node):
            connect(source=node, target=target, port=port)
    return node


def add_after(*, node: Node, port: str, kind: str, name: str = "") -> Node:
    """A new node on a port that leads nowhere yet (the end of a path)."""
    with transaction.atomic():
        journey = _lock(node.sequence)
        node = Node.objects.get(pk=node.pk)
        if port not in ports(node):
            raise ValidationError(f"“{node}” has no “{port}” arrow.")
        existing = Edge.objects.filter(source=node, port=port).select_related("target").first()
        if existing is not None:
            raise ValidationError(
                f"“{node}” already leads to “{existing.target}” there: add on that arrow."
            )
        new = _new_node(journey=journey, kind=kind, name=name)
        connect(source=node, target=new, port=port)
        if journey.start_node_id is None:
            journey.start_node = node
            journey.save(update_fields=["start_node"])
    return new


def remove_node(*, node: Node, now: datetime | None = None) -> int:
    """Remove a node: arrows into it lead to its successor, and the leads waiting on it move
    there (or end, if nothing follows). Returns how many leads moved. Refused while a wait or
    branch still names it (see `removal_refusal`): the marketer decides what they wait for."""
    now = now or timezone.now()
    with transaction.atomic():
        journey = _lock(node.sequence)
        node = Node.objects.select_related("step").get(pk=node.pk)
        # Checked under the journey's lock: no save of a wait can name it in between.
        refusal = removal_refusal(node)
        if refusal:
            raise ValidationError(refusal)
        after = successor(node)
        # Wait for a tick holding these leads to finish, then move only those still here:
        # one the tick just moved on is past this node and stays where it went.
        waiting = list(_waiting(node).select_for_update().values_list("pk", flat=True))
        if node.step_id is not None:
            # Emails not yet handed to a worker are cancelled; sent ones stay in history.
            Delivery.objects.filter(
                node=node, enrollment_id__in=waiting, status=Delivery.Status.SCHEDULED
            ).update(status=Delivery.Status.CANCELLED, status_changed_at=now)
            Step.objects.filter(pk=node.step_id).update(is_active=False)
        place = {"current_node": after, "node_entered_at": None}
        moved = Enrollment.objects.filter(pk__in=waiting, current_node=node).update(**place)
        Enrollment.objects.filter(pk__in=waiting, state=Enrollment.State.ACTIVE).update(next_at=now)
        incoming = Edge.objects.filter(target=node)
        if after is None:
            incoming.delete()
        else:
            incoming.filter(source=after).delete()  # it would point at itself
            incoming.update(target=after)
        if journey.start_node_id == node.pk:
            journey.start_node = after
            journey.save(update_fields=["start_node"])
        node.delete()
    return moved


def update_node(
    *,
    node: Node,
    name: str,
    config: Mapping[str, Any],
    email: Mapping[str, Any] | None = None,
    port_origins: Iterable[int | None] | None = None,
) -> Node:
    """Save a node's form. For a branch or split, `port_origins` gives, for each condition
    or variant in its new order, the index it had before (None: new), so the arrows follow
    their conditions when the marketer reorders or removes one."""
    with transaction.atomic():
        _lock(node.sequence)
        node = Node.objects.select_related("step").get(pk=node.pk)
        old_config = node.config or {}
        node.name = name[:100]
        # What the engine recorded (a split's decided winner) survives a save; what the form
        # edits is replaced whole, so a key of another action does not linger.
        kept = {key: old_config[key] for key in ENGINE_KEYS if key in old_config}
        node.config = {**kept, **config}
        node.save(update_fields=["name", "config"])
        if email is not None and node.step is not None:
            for key, value in email.items():
                if key in EMAIL_FIELDS:
                    setattr(node.step, key, value)
            node.step.save()
        if port_origins is not None and node.kind in (Node.Kind.BRANCH, Node.Kind.SPLIT):
            _remap_ports(
                node,
                prefix="c" if node.kind == Node.Kind.BRANCH else "v",
                origins=list(port_origins),
            )
    return node


def _remap_ports(node: Node, *, prefix: str, origins: list[int | None]) -> None:
    edges = {
        edge.port: edge.target_id
        for edge in Edge.objects.filter(source=node, port__startswith=prefix)
        if edge.port[1:].isdigit()
    }
    Edge.objects.filter(source=node, port__in=list(edges)).delete()
    Edge.objects.bulk_create(
        Edge(source=node, port=f"{prefix}{index}", target_id=edges[f"{prefix}{origin}"])
        for index, origin in enumerate(origins)
        if origin is not None and f"{prefix}{origin}" in edges
    )


# -- triggers -------------------------------------------------------------------------------


def add_trigger(*, journey: Sequence, kind: str, config: Mapping[str, Any]) -> Trigger:
    with transaction.atomic():
        _lock(journey)
        return Trigger.objects.create(sequence=journey, kind=kind, config=dict(config))


def update_trigger(*, trigger: Trigger, kind: str, config: Mapping[str, Any]) -> Trigger:
    with transaction.atomic():
        _lock(trigger.sequence)
        Trigger.objects.filter(pk=trigger.pk).update(kind=kind, config=dict(config))
        trigger.kind, trigger.config = kind, dict(config)
    return trigger


def remove_trigger(*, trigger: Trigger) -> None:
    with transaction.atomic():
        _lock(trigger.sequence)
        Trigger.objects.filter(pk=trigger.pk).delete()


# -- creating and publishing ----------------------------------------------------------------


def start_journey(*, journey: Sequence) -> Node:
    """A new journey's first node: one email, to be written before publishing."""
    with transaction.atomic():
        journey = _lock(journey)
        node = _new_node(journey=journey, kind=Node.Kind.EMAIL, name="First email")
        journey.start_node = node
        journey.save(update_fields=["start_node"])
    return node


def publish_problems(*, journey: Sequence) -> list[str]:
    """Why a journey may not go live yet (empty when it may)."""
    problems = []
    if journey.start_node_id is None:
        problems.append("The journey has no start node.")
    nodes = list(Node.objects.filter(sequence=journey).select_related("step"))
    edges = set(Edge.objects.filter(source__sequence=journey).values_list("source_id", "port"))
    names = {node.pk: str(node) for node in nodes}
    for node in nodes:
        if node.kind == Node.Kind.EMAIL:
            step = node.step
            if step is None or not step.subject.strip() or not step.body.strip():
                problems.append(f"Email “{node}” needs a subject and a body.")
        if node.kind in (Node.Kind.BRANCH, Node.Kind.SPLIT):
            for port in ports(node):
                if port != "else" and (node.pk, port) not in edges:
                    label = port_label(node, port, node_names=names)
                    problems.append(
                        f"{node.get_kind_display()} “{node}”: “{label}” leads "
                        "nowhere; add a node on it or remove it."
                    )
        if node.kind == Node.Kind.SMS and not str(node.config.get("body", "")).strip():
            problems.append(f"SMS “{node}” has no text.")
    return problems


def publish(*, journey: Sequence) -> Sequence:
    with transaction.atomic():
        journey = _lock(journey)
        problems = publish_problems(journey=journey)
        if problems:
            raise ValidationError(problems)
        journey.status = Sequence.Status.ACTIVE
        journey.save(update_fields=["status"])
    return journey


def pause(*, journey: Sequence) -> Sequence:
    with transaction.atomic():
        journey = _lock(journey)
        journey.status = Sequence.Status.PAUSED
        journey.save(update_fields=["status"])
    return journey
