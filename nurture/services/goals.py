"""A journey's goal: booked, won, reached a stage, or clicked a link.

Reaching the goal anywhere in the journey ends the enrollment as converted (the lead's
booking, a rep's stage move or a click announce it: see receivers); reaching the goal node
without meeting it ends the enrollment as completed.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from capture.models import Activity, Lead
from leadfunnel.announce import announce_on_commit
from nurture.models import Enrollment, Node, Sequence
from nurture.services import conditions
from nurture.services.exiting import exit_enrollments
from nurture.signals import journey_converted

BOOKED, WON, STAGE, CLICKED = "booked", "won", "stage", "clicked"
EVENTS = {BOOKED: "booked", WON: "won", STAGE: "reached a stage", CLICKED: "clicked a link"}


def describe(node: Node) -> str:
    event: str = node.config.get("event", BOOKED)
    if event == STAGE:
        return f"reached {node.config.get('stage', '')}"
    if event == CLICKED:
        return f"clicked {node.config.get('url') or 'a link'}"
    return EVENTS.get(event, event)


def goal_q(node: Node) -> Q:
    event = node.config.get("event", BOOKED)
    if event == BOOKED:
        return Q(stage__in=[Lead.Stage.BOOKED, Lead.Stage.WON])
    if event == WON:
        return Q(stage=Lead.Stage.WON)
    if event == STAGE:
        return Q(stage=node.config.get("stage", ""))
    clicks = Activity.objects.filter(lead=OuterRef("pk"), kind=Activity.Kind.EMAIL_CLICKED)
    if node.config.get("url"):
        clicks = clicks.filter(metadata__link__iregex=conditions.url_regex(node.config["url"]))
    return Q(Exists(clicks))


def leads_meeting(*, node: Node, lead_ids: Iterable[int], now: datetime) -> set[int]:
    ids = list(lead_ids)
    if not ids:
        return set()
    return set(Lead.objects.filter(goal_q(node), pk__in=ids).values_list("pk", flat=True))


def convert(*, lead_id: int, event: str, now: datetime | None = None) -> int:
    """The lead did `event`: its live enrollments in journeys with a goal it meets convert."""
    now = now or timezone.now()
    goal_nodes = Node.objects.filter(
        kind=Node.Kind.GOAL,
        config__event=event,
        sequence__kind=Sequence.Kind.JOURNEY,
        sequence__enrollments__lead_id=lead_id,
        sequence__enrollments__state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED],
    ).distinct()
    converted = 0
    for node in goal_nodes:
        if lead_id in leads_meeting(node=node, lead_ids=[lead_id], now=now):
            converted += end_converted(
                lead_id=lead_id,
                sequence_id=node.sequence_id,
                note=f"goal: {describe(node)}",
                now=now,
            )
    return converted


def end_converted(*, lead_id: int, sequence_id: int, note: str, now: datetime) -> int:
    with transaction.atomic():
        live = list(
            Enrollment.objects.filter(
                lead_id=lead_id,
                sequence_id=sequence_id,
                state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED],
            ).values_list("pk", flat=True)
        )
        if not live:
            return 0
        exit_enrollments(
            lead_id=lead_id, reason=Enrollment.ExitReason.CONVERTED, sequence_id=sequence_id
        )
        Enrollment.objects.filter(pk__in=live).update(converted_at=now, next_at=None)
        for enrollment_id in live:
            announce_on_commit(
                journey_converted,
                Enrollment,
                enrollment_id=enrollment_id,
                lead_id=lead_id,
                journey_id=sequence_id,
                goal=note,
            )
    return len(live)
