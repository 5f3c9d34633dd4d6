"""The journey tick: claim due enrollments, run their nodes, move them on, record the path.

Each enrollment stores its current node, when it arrived (None: it has yet to arrive) and
when it next needs attention (`next_at`). `advance_due` claims due ones with
`FOR UPDATE SKIP LOCKED` (two ticks never take the same lead), groups them by node and lets
each node's handler decide for the whole group in a fixed number of queries; leads that
move on to a node that runs at once (a branch, an elapsed wait) continue in the same pass.
Path rows, deliveries and the enrollments' new places are written in bulk, in the claim's
transaction: a killed worker rolls all of it back, and the next tick does it again.

A node runs at most once per enrollment (`path_once_per_node`): a lead routed back to a
node it has seen is treated as resuming there, never as arriving twice.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from nurture import queueing
from nurture.models import Delivery, Edge, Enrollment, Node, PathStep, Sequence
from nurture.services import dispatching, goals
from nurture.services.nodes import End, Outcome, Visit, Wait, registry
from nurture.services.nodes.email import Planned, Sent

logger = logging.getLogger(__name__)
# A guard against a graph that loops through nodes that all run at once.
MAX_HOPS = 64
# A path row as _insert_path writes it: enrollment, node, name, kind, entered_at, via.
PathRow = tuple[int, int, str, str, datetime, str]


@dataclass
class Step:
    """One line of a lead's (real or simulated) path."""

    node_id: int | None
    node_name: str
    node_kind: str
    at: datetime
    via: str


@dataclass(slots=True)
class LeadZone:
    """The one thing of the lead the nodes read from the instance: its zone (conditions
    query the lead table)."""

    pk: int
    time_zone: str


@dataclass(slots=True)
class Place:
    """An enrollment as the tick reads and writes it: a few columns, not a model instance
    with its lead and journey (a tenth of the cost per lead, at 100,000 a tick)."""

    pk: int
    lead_id: int
    sequence_id: int
    lead: LeadZone
    sequence: Sequence
    current_node_id: int | None
    node_entered_at: datetime | None
    next_at: datetime | None
    started_at: datetime
    confirmed_at: datetime | None
    needs_confirmation: bool
    trigger: str
    state: str = Enrollment.State.ACTIVE
    ended_at: datetime | None = None


PLACE_COLUMNS = (
    "pk",
    "lead_id",
    "sequence_id",
    "lead__time_zone",
    "current_node_id",
    "node_entered_at",
    "next_at",
    "started_at",
    "confirmed_at",
    "needs_confirmation",
    "trigger",
)


@dataclass
class Runner:
    now: datetime
    dry_run: bool = False
    nodes: dict[int, Node] = field(default_factory=dict)
    edges: dict[tuple[int, str], int] = field(default_factory=dict)
    deliveries: list[Planned] = field(default_factory=list)
    effects: list[tuple[int, int]] = field(default_factory=list)
    requeue: list[tuple[int, int]] = field(default_factory=list)
    moved: dict[int, Enrollment] = field(default_factory=dict)
    converted: list[tuple[Enrollment, str]] = field(default_factory=list)
    # Dry run: each enrollment's simulated path.
    trail: dict[int, list[Step]] = field(default_factory=lambda: defaultdict(list))
    visited: set[tuple[int, int]] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)
    # Each lead's emails around now (the email nodes' calendar), shared across the pass.
    calendar: dict[int, list[Sent]] = field(default_factory=dict)

    # -- Context for handlers ---------------------------------------------------------
    def add_delivery(self, delivery: Planned) -> None:
        self.deliveries.append(delivery)

    def add_effect(self, enrollment_id: int, node_id: int, again: bool = False) -> None:
        (self.requeue if again else self.effects).append((enrollment_id, node_id))

    def node_name(self, node_id: int) -> str:
        node = self.node(node_id)
        return str(node) if node is not None else ""

    # -- graph ------------------------------------------------------------------------
    def load(self, journey_ids: Iterable[int]) -> None:
        missing = set(journey_ids) - {node.sequence_id for node in self.nodes.values()}
        if not missing:
            return
        for node in Node.objects.filter(sequence_id__in=missing).select_related("step"):
            self.nodes[node.pk] = node
        for source, port, target in Edge.objects.filter(
            source__sequence_id__in=missing
        ).values_list("source_id", "port", "target_id"):
            self.edges[(source, port)] = target

    def _label(self, node: Node) -> str:
        label = self.labels.get(node.pk)
        if label is None:
            label = self.labels[node.pk] = str(node)[:100]
        return label

    def node(self, node_id: int | None) -> Node | None:
        return self.nodes.get(node_id) if node_id is not None else None

    # -- the pass ---------------------------------------------------------------------
    def advance(
        self, enrollments: list[Enrollment], *, at: dict[int, datetime] | None = None
    ) -> None:
        self.load({e.sequence_id for e in enrollments})
        visits: list[tuple[Visit, str]] = []
        for enrollment in enrollments:
            when = (at or {}).get(enrollment.pk, self.now)
            arriving = enrollment.node_entered_at is None
            visits.append(
                (
                    Visit(enrollment=enrollment, at=when, arriving=arriving),
                    enrollment.trigger if arriving else "",
                )
            )
        for _ in range(MAX_HOPS):
            if not visits:
                return
            visits = self._hop(visits)
        for visit, _via in visits:
            logger.error(
                "enrollment %s: more than %s nodes at once; stopped", visit.enrollment.pk, MAX_HOPS
            )
            self._end(visit, End(note="stopped: the journey loops"), at=visit.at)

    def _hop(self, visits: list[tuple[Visit, str]]) -> list[tuple[Visit, str]]:
        by_node: dict[int | None, list[tuple[Visit, str]]] = defaultdict(list)
        for visit, via in visits:
            by_node[visit.enrollment.current_node_id].append((visit, via))
        self._mark_seen(by_node)
        following: list[tuple[Visit, str]] = []
        for node_id, group in by_node.items():
            node = self.node(node_id)
            if node is None:
                for visit, _via in group:
                    self._end(visit, End(note="the journey has no further node"), at=visit.at)
                continue
            for visit, via in group:
                if visit.arriving:
                    self._arrive(visit, node, via)
            outcomes = registry[node.kind](node, [visit for visit, _ in group], self)
            for visit, _via in group:
                outcome = outcomes[visit.enrollment.pk]
                following.extend(self._apply(visit, node, outcome))
        return following

    def _mark_seen(self, by_node: dict[int | None, list[tuple[Visit, str]]]) -> None:
        arriving = [
            (v.enrollment.pk, node_id)
            for node_id, group in by_node.items()
            for v, _ in group
            if v.arriving and node_id is not None
        ]
        if not arriving:
            return
        seen = set(self.visited)
        if not self.dry_run:
            # The path rows are written on arrival, each hop in one INSERT … ON CONFLICT DO
            # NOTHING: a pair the unique constraint already holds is one the lead has seen.
            rows = [
                (
                    v.enrollment.pk,
                    node_id,
                    self._label(self.nodes[node_id]),
                    self.nodes[node_id].kind,
                    v.at,
                    via[:300],
                )
                for node_id, group in by_node.items()
                if node_id in self.nodes
                for v, via in group
                if v.arriving and (v.enrollment.pk, node_id) not in seen
            ]
            fresh = _insert_path(rows)
            seen |= {(row[0], row[1]) for row in rows} - fresh
        for group in by_node.values():
            for visit, _ in group:
                key = (visit.enrollment.pk, visit.enrollment.current_node_id)
                if visit.arriving and key in seen:
                    visit.arriving = False  # a node runs once: seen before, it resumes

    def _arrive(self, visit: Visit, node: Node, via: str) -> None:
        enrollment = visit.enrollment
        self.visited.add((enrollment.pk, node.pk))
        enrollment.node_entered_at = visit.at
        if self.dry_run:
            self.trail[enrollment.pk].append(
                Step(
                    node_id=node.pk, node_name=str(node), node_kind=node.kind, at=visit.at, via=via
                )
            )
            return
        self.moved[enrollment.pk] = enrollment

    def _apply(self, visit: Visit, node: Node, outcome: Outcome) -> list[tuple[Visit, str]]:
        enrollment = visit.enrollment
        if isinstance(outcome, Wait):
            enrollment.next_at = outcome.until
            self.moved[enrollment.pk] = enrollment
            if self.dry_run:
                # Simulated time: the lead waits, then resumes here.
                return [(Visit(enrollment=enrollment, at=outcome.until, arriving=False), "")]
            return []
        left_at = getattr(outcome, "at", None) or (visit.at if self.dry_run else self.now)
        if isinstance(outcome, End):
            self._end(visit, outcome, at=left_at)
            return []
        target = self.edges.get((node.pk, outcome.port))
        if target is None:
            self._end(
                visit, End(note=f"{outcome.note} → end" if outcome.note else "end"), at=left_at
            )
            return []
        enrollment.current_node_id = target
        enrollment.node_entered_at = None
        self.moved[enrollment.pk] = enrollment
        if self._held_for_confirmation(enrollment, node):
            enrollment.next_at = enrollment.started_at + timedelta(
                days=settings.NURTURE_CONFIRMATION_DAYS
            )
            if self.dry_run:
                self.trail[enrollment.pk].append(
                    Step(None, "Waiting for confirmation", "wait", left_at, outcome.note)
                )
            return []
        enrollment.next_at = left_at
        return [(Visit(enrollment=enrollment, at=left_at, arriving=True), outcome.note)]

    def _held_for_confirmation(self, enrollment: Enrollment, node: Node) -> bool:
        """Double opt-in: only the first email goes out until the prospect confirms."""
        return (
            enrollment.needs_confirmation
            and enrollment.confirmed_at is None
            and node.kind == Node.Kind.EMAIL
        )

    def _end(self, visit: Visit, outcome: End, *, at: datetime) -> None:
        enrollment = visit.enrollment
        if self.dry_run:
            label = "Converted" if outcome.converted else "Completed"
            self.trail[enrollment.pk].append(Step(None, label, "end", at, outcome.note))
            enrollment.next_at = None
            return
        enrollment.next_at = None
        if outcome.converted:
            self.converted.append((enrollment, outcome.note))
        else:
            enrollment.state = Enrollment.State.COMPLETED
            enrollment.ended_at = self.now
        self.moved[enrollment.pk] = enrollment

    # -- writing ----------------------------------------------------------------------
    def flush(self) -> None:
        if self.dry_run:
            return
        if self.effects:
            # Effect nodes' rows (written on arrival) now say their work is to be done.
            PathStep.objects.filter(_pairs_q(list(set(self.effects)))).update(
                effect="pending", effect_changed_at=self.now
            )
        queued = _insert_deliveries(self.deliveries, now=self.now)
        _save_places(list(self.moved.values()))
        for enrollment, note in self.converted:
            goals.end_converted(
                lead_id=enrollment.lead_id,
                sequence_id=enrollment.sequence_id,
                note=note,
                now=self.now,
            )
        effects_all = self.effects + self.requeue
        transaction.on_commit(lambda: after_advance(delivery_ids=queued, effects=effects_all))


def after_advance(*, delivery_ids: list[int], effects: list[tuple[int, int]]) -> None:
    """On commit of a pass: the emails due now to the dispatcher, the effects to a worker."""
    if delivery_ids:
        dispatching.hand_out(delivery_ids=delivery_ids)
    for enrollment_id, node_id in effects:
        if not queueing.send(queueing.EFFECT, enrollment_id, node_id):
            break


def _insert_path(rows: list[PathRow]) -> set[tuple[int, int]]:
    """Path rows (enrollment, node, name, kind, entered_at, via) in one INSERT; returns the
    (enrollment, node) pairs actually written (not already there)."""
    if not rows:
        return set()
    if connection.vendor != "postgresql":
        seen = set(
            PathStep.objects.filter(_pairs_q([(row[0], row[1]) for row in rows])).values_list(
                "enrollment_id", "node_id"
            )
        )
        fresh = [row for row in rows if (row[0], row[1]) not in seen]
        PathStep.objects.bulk_create(
            PathStep(
                enrollment_id=e, node_id=n, node_name=name, node_kind=kind, entered_at=at, via=via
            )
            for e, n, name, kind, at, via in fresh
        )
        return {(row[0], row[1]) for row in fresh}
    table = PathStep._meta.db_table  # the model's own name, never input
    sql = (
        f"INSERT INTO {table} (enrollment_id, node_id, node_name, node_kind, entered_at, via,"  # noqa: S608
        " result, effect) SELECT e, n, name, kind, at, via, '', ''"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[],"
        " %s::timestamptz[], %s::varchar[]) AS v(e, n, name, kind, at, via)"
        " ON CONFLICT (enrollment_id, node_id) DO NOTHING RETURNING enrollment_id, node_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return {(e, n) for e, n in cursor.fetchall()}


def _insert_deliveries(planned: list[Planned], *, now: datetime) -> list[int]:
    """The pass's deliveries in one INSERT; returns the ids of those queued at once."""
    if not planned:
        return []
    if connection.vendor != "postgresql":
        created = Delivery.objects.bulk_create(
            Delivery(
                enrollment_id=p.enrollment_id,
                step_id=p.step_id,
                node_id=p.node_id,
                due_at=p.due_at,
                status=p.status,
                status_changed_at=now,
            )
            for p in planned
        )
        return [d.pk for d in created if d.status == Delivery.Status.QUEUED]
    table = Delivery._meta.db_table  # the model's own name, never input
    sql = (
        f"INSERT INTO {table} (enrollment_id, step_id, node_id, due_at, status, attempts,"  # noqa: S608
        " last_error, status_changed_at, message_id) SELECT e, s, n, due, status, 0, '', %s, ''"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[],"
        " %s::varchar[]) AS v(e, s, n, due, status) RETURNING id, status"
    )
    rows = [(p.enrollment_id, p.step_id, p.node_id, p.due_at, str(p.status)) for p in planned]
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *(list(column) for column in zip(*rows, strict=True))])
        returned = cursor.fetchall()
    return [pk for pk, status in returned if status == Delivery.Status.QUEUED]


def _pairs_q(pairs: list[tuple[int, int]]) -> Q:
    q = Q(pk__in=[])
    by_node: dict[int, list[int]] = defaultdict(list)
    for enrollment_id, node_id in pairs:
        by_node[node_id].append(enrollment_id)
    for node_id, enrollment_ids in by_node.items():
        q |= Q(node_id=node_id, enrollment_id__in=enrollment_ids)
    return q


def _save_places(enrollments: list[Enrollment]) -> None:
    """Every moved enrollment's new place in one UPDATE … FROM unnest(arrays)."""
    if not enrollments:
        return
    if connection.vendor != "postgresql":
        for e in enrollments:
            Enrollment.objects.filter(pk=e.pk).update(
                current_node_id=e.current_node_id,
                node_entered_at=e.node_entered_at,
                next_at=e.next_at,
                state=e.state,
                ended_at=e.ended_at,
            )
        return
    table = Enrollment._meta.db_table  # the model's own name, never input
    sql = (
        f"UPDATE {table} AS e SET current_node_id = v.node, node_entered_at = v.entered,"  # noqa: S608
        " next_at = v.next_at, state = v.state, ended_at = v.ended"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[],"
        " %s::varchar[], %s::timestamptz[]) AS v(id, node, entered, next_at, state, ended)"
        " WHERE e.id = v.id"
    )
    columns = list(
        zip(
            *(
                (e.pk, e.current_node_id, e.node_entered_at, e.next_at, str(e.state), e.ended_at)
                for e in enrollments
            ),
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in columns])


def claimable(*, now: datetime) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(
        state=Enrollment.State.ACTIVE,
        next_at__lte=now,
        sequence__status=Sequence.Status.ACTIVE,
        sequence__kind=Sequence.Kind.JOURNEY,
    )


def advance_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """One batch of the tick: returns how many enrollments it advanced."""
    now = now or timezone.now()
    limit = limit or settings.JOURNEY_TICK_BATCH
    with transaction.atomic():
        places = _claim(claimable(now=now).order_by("next_at")[:limit])
        if not places:
            return 0
        _commit_without_flush()
        _run(places=places, now=now)
    return len(places)


def _commit_without_flush() -> None:
    """This batch commits without waiting for the WAL flush (a tenth of a big batch's time).

    A PostgreSQL crash could forget the last fraction of a second of batches, all or nothing
    each: their enrollments are due again and the next tick does them once. What a batch
    queued on commit finds nothing to claim, and anything that commits after it (a send, an
    effect) flushes the WAL up to and including this batch. SET LOCAL: this transaction only.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def advance(*, enrollment_ids: Iterable[int], now: datetime | None = None) -> int:
    """Advance these enrollments now, if due (a new enrollment's first nodes, at once)."""
    now = now or timezone.now()
    with transaction.atomic():
        places = _claim(claimable(now=now).filter(pk__in=list(enrollment_ids)).order_by("pk"))
        if places:
            _run(places=places, now=now)
    return len(places)


def _claim(due: QuerySet[Enrollment]) -> list[Place]:
    """Lock the due enrollments (skipping those another tick holds) and read what the tick
    needs of them, in one statement."""
    rows = list(due.select_for_update(skip_locked=True, of=("self",)).values_list(*PLACE_COLUMNS))
    journeys = Sequence.objects.in_bulk({row[2] for row in rows})
    return [
        Place(
            pk=pk,
            lead_id=lead_id,
            sequence_id=sequence_id,
            lead=LeadZone(pk=lead_id, time_zone=zone),
            sequence=journeys[sequence_id],
            current_node_id=node_id,
            node_entered_at=entered,
            next_at=next_at,
            started_at=started,
            confirmed_at=confirmed,
            needs_confirmation=needs,
            trigger=trigger,
        )
        for (
            pk,
            lead_id,
            sequence_id,
            zone,
            node_id,
            entered,
            next_at,
            started,
            confirmed,
            needs,
            trigger,
        ) in rows
    ]


def _run(*, places: list[Place], now: datetime) -> None:
    runner = Runner(now=now)
    runner.advance(places)  # type: ignore[arg-type]
    runner.flush()


def simulate(*, enrollments: list[Enrollment], now: datetime) -> dict[int, list[Step]]:
    """A dry run: each (unsaved) enrollment's path and dates, with nothing written or sent."""
    runner = Runner(now=now, dry_run=True)
    runner.advance(enrollments)
    return dict(runner.trail)


def advance_all_due(*, now: datetime | None = None) -> int:
    """Batches until nothing is due or the tick's time budget is spent (the next tick goes
    on where this one stopped)."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < settings.JOURNEY_TICK_SECONDS_BUDGET:
        advanced = advance_due(now=now)
        total += advanced
        if advanced < settings.JOURNEY_TICK_BATCH:
            break
    return total
