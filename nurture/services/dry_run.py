"""A journey's dry run: where each of a few real leads would go, and when each message would
go out, with nothing written or sent.

The tick's own Runner does the work in its dry-run mode (`advancing.simulate`), on unsaved
enrollments with negative ids, so the dry run follows exactly the rules the tick follows
(windows in the lead's zone, one email per local day, the frequency cap) and stays
set-based: each node asks the database once for the whole sample, not once per lead.
Wait-untils take their timed-out path (the future is unknown), which the path says.
"""

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from capture.models import ERASED_EMAIL_DOMAIN, Lead
from nurture.models import Enrollment, Node, Sequence, Suppression
from nurture.services import advancing
from nurture.services.scheduling import lead_zone

MAX_SAMPLE = 1000
# Nodes whose leaving time is when their message goes out.
MESSAGE_KINDS = (Node.Kind.EMAIL, Node.Kind.SMS)


@dataclass(frozen=True)
class Message:
    node_id: int | None
    name: str
    kind: str
    at: datetime  # UTC
    local: datetime  # in the lead's zone


@dataclass
class LeadRun:
    lead: Lead
    zone: ZoneInfo
    steps: list[advancing.Step]
    messages: list[Message]

    @property
    def path_label(self) -> str:
        return " → ".join(step.node_name for step in self.steps)

    @property
    def first_message(self) -> Message | None:
        return self.messages[0] if self.messages else None


@dataclass
class DryRun:
    journey: Sequence
    now: datetime
    runs: list[LeadRun]
    seconds: float
    # (path, leads taking it), most taken first.
    paths: list[tuple[str, int]] = field(default_factory=list)
    # node id → leads reaching it.
    reached: dict[int, int] = field(default_factory=dict)
    first_send_from: datetime | None = None
    first_send_to: datetime | None = None


def mailable_sample(*, limit: int = MAX_SAMPLE) -> QuerySet[Lead]:
    """Real leads a dry run may use: never suppressed, never erased (the most recent first)."""
    return _mailable().order_by("-created_at", "-pk")[: max(0, min(limit, MAX_SAMPLE))]


def find_lead(*, email: str) -> Lead | None:
    """The lead with this address, if a dry run may use it."""
    email = email.strip()
    return _mailable().filter(email__iexact=email).first() if email else None


def matching_leads(*, search: str, limit: int = 10) -> list[Lead]:
    """Leads a dry run may use whose address contains `search`, to pick one from."""
    search = search.strip()
    if not search:
        return []
    return list(_mailable().filter(email__icontains=search).order_by("email")[:limit])


def _mailable() -> QuerySet[Lead]:
    return Lead.objects.exclude(email__endswith="@" + ERASED_EMAIL_DOMAIN).exclude(
        Exists(Suppression.objects.filter(email=OuterRef("email")))
    )


def dry_run(*, journey: Sequence, leads: list[Lead], now: datetime | None = None) -> DryRun:
    """Run `journey` for `leads` (at most MAX_SAMPLE) from `now`, writing nothing."""
    now = now or timezone.now()
    leads = list(leads)[:MAX_SAMPLE]
    started = time.perf_counter()
    # Unsaved, with negative ids: nothing can collide with (or be mistaken for) a real row.
    enrollments = [
        Enrollment(
            pk=-(index + 1),
            lead=lead,
            sequence=journey,
            current_node_id=journey.start_node_id,
            node_entered_at=None,
            next_at=now,
            started_at=now,
            trigger="dry run",
        )
        for index, lead in enumerate(leads)
    ]
    trails = advancing.simulate(enrollments=enrollments, now=now) if enrollments else {}
    # An email node whose step is switched off sends nothing.
    email_active = dict(
        Node.objects.filter(sequence=journey, kind=Node.Kind.EMAIL).values_list(
            "pk", "step__is_active"
        )
    )
    runs = []
    for enrollment in enrollments:
        zone = lead_zone(lead=enrollment.lead, sequence=journey)
        steps = trails.get(enrollment.pk, [])
        runs.append(
            LeadRun(
                lead=enrollment.lead,
                zone=zone,
                steps=steps,
                messages=_messages(steps, zone=zone, email_active=email_active),
            )
        )
    result = DryRun(journey=journey, now=now, runs=runs, seconds=0.0)
    _summarise(result)
    result.seconds = time.perf_counter() - started
    return result


def _messages(
    steps: list[advancing.Step], *, zone: ZoneInfo, email_active: Mapping[int, bool | None]
) -> list[Message]:
    """A message goes out when the lead leaves its node: the next line's time."""
    messages = []
    for index, step in enumerate(steps):
        if step.node_kind not in MESSAGE_KINDS:
            continue
        if step.node_kind == Node.Kind.EMAIL and not email_active.get(step.node_id or 0):
            continue
        following = steps[index + 1] if index + 1 < len(steps) else None
        at = following.at if following is not None else step.at
        messages.append(
            Message(
                node_id=step.node_id,
                name=step.node_name,
                kind=step.node_kind,
                at=at,
                local=at.astimezone(zone),
            )
        )
    return messages


def _summarise(result: DryRun) -> None:
    paths: Counter[str] = Counter()
    reached: Counter[int] = Counter()
    firsts = []
    for run in result.runs:
        paths[run.path_label] += 1
        for node_id in {step.node_id for step in run.steps if step.node_id is not None}:
            reached[node_id] += 1
        if run.first_message is not None:
            firsts.append(run.first_message.at)
    result.paths = paths.most_common()
    result.reached = dict(reached)
    if firsts:
        result.first_send_from, result.first_send_to = min(firsts), max(firsts)
