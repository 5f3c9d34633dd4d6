"""Building journeys: nodes, arrows and triggers, in one transaction each.

`build` takes a whole journey as data (what the demo, the migration of day lists, the API
and tests use); the map's editing services add, rewire and remove single nodes.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from nurture.models import Edge, Node, Sequence, Step, Trigger

EMAIL_FIELDS = ("subject", "preheader", "body", "cta_label", "cta_url", "transactional")


def create_node(
    *,
    journey: Sequence,
    kind: str,
    name: str = "",
    config: Mapping[str, Any] | None = None,
    email: Mapping[str, Any] | None = None,
) -> Node:
    """A node; an email node gets its Step (subject, body, button) from `email`."""
    with transaction.atomic():
        step = None
        if kind == Node.Kind.EMAIL:
            fields = {key: value for key, value in (email or {}).items() if key in EMAIL_FIELDS}
            step = Step.objects.create(sequence=journey, day=None, **fields)
        return Node.objects.create(
            sequence=journey, kind=kind, name=name[:100], config=dict(config or {}), step=step
        )


def connect(*, source: Node, target: Node, port: str = "next") -> Edge:
    edge, _ = Edge.objects.update_or_create(source=source, port=port, defaults={"target": target})
    return edge


def build(
    *,
    name: str,
    nodes: Mapping[str, Mapping[str, Any]],
    edges: Iterable[tuple[str, str, str]],
    start: str,
    triggers: Iterable[tuple[str, Mapping[str, Any]]] = (),
    **fields: Any,
) -> Sequence:
    """A journey from data: `nodes` by key ({"kind", "name", "config", "email"}), `edges`
    as (source key, port, target key), the `start` key, and (kind, config) triggers."""
    with transaction.atomic():
        journey = Sequence.objects.create(name=name, kind=Sequence.Kind.JOURNEY, **fields)
        made = {
            key: create_node(
                journey=journey,
                kind=spec["kind"],
                name=spec.get("name", ""),
                config=spec.get("config"),
                email=spec.get("email"),
            )
            for key, spec in nodes.items()
        }
        for source, port, target in edges:
            connect(source=made[source], target=made[target], port=port)
        journey.start_node = made[start]
        journey.save(update_fields=["start_node"])
        Trigger.objects.bulk_create(
            Trigger(sequence=journey, kind=kind, config=dict(config)) for kind, config in triggers
        )
    return journey
