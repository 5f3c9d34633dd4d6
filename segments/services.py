"""Every write segments makes: saving a segment, and keeping its members.

Membership is kept three ways that must agree (tests/segments/test_membership.py):
- `refresh_lead`: a lead changed (a signal the apps already send), so that one lead is
  re-evaluated against every segment in ONE query (each segment's SQL compiled once per
  version, segments.compiling.lead_check_statement), and its rows inserted or deleted;
- `refresh_segment`: the periodic full refresh (beat), set-based — one DELETE of the
  leads that no longer match and one INSERT … SELECT of those that now do — for the time
  windows ("in the last 14 days") that move on without any lead changing;
- `refresh_leads`: the same two statements per segment for a set of leads that changed
  together (an import's chunk, announced as `activities_recorded`), so imported leads are
  in their segments (and segment-triggered journeys) when their chunk commits.
Joins and leaves are announced on commit (segment_joined / segment_left), once per segment.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce_on_commit
from segments import queueing
from segments.compiling import (
    lead_check_statement,
    matching_leads,
    members_q,
    whole_table_query,
)
from segments.models import Segment, SegmentMember
from segments.signals import segment_joined, segment_left


def create_segment(
    *, name: str, conditions: Mapping[str, Any], description: str = "", created_by: Any = None
) -> Segment:
    """Raises django's ValidationError (field → messages) for a tree it cannot evaluate."""
    segment = Segment(
        name=name, description=description, conditions=dict(conditions), created_by=created_by
    )
    return save_segment(segment=segment)


def update_segment(*, segment: Segment, **changes: Any) -> Segment:
    for name, value in changes.items():
        setattr(segment, name, value)
    return save_segment(segment=segment)


def save_segment(*, segment: Segment) -> Segment:
    """Validate (the model's checks), save, and fill the members on commit (in a worker:
    a segment of a million leads is one INSERT … SELECT, but not inside the request)."""
    segment.full_clean()
    with transaction.atomic():
        segment.save()
        pk = segment.pk
        transaction.on_commit(lambda: queueing.refresh_segment_soon(segment_id=pk))
    return segment


def refresh_lead(*, lead_id: int, now: datetime | None = None) -> dict[str, list[int]]:
    """Re-evaluate one lead against every segment: {"joined": [...], "left": [...]}."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, so two facts about one lead at once cannot leave a stale row: the second
        # evaluates after the first has written, on data committed since. The same
        # statement reads the segments the lead is in now (one round trip fewer); `of`
        # because FOR UPDATE cannot lock the nullable side of the outer join.
        rows = list(
            Lead.objects.select_for_update(of=("self",))
            .filter(pk=lead_id)
            .order_by()
            .values_list("pk", "segment_memberships__segment_id")
        )
        segments = list(Segment.objects.order_by().values_list("pk", "conditions"))
        if not rows or not segments:
            return {"joined": [], "left": []}
        current = {segment_id for _, segment_id in rows if segment_id is not None}
        # One statement for all segments, each compiled once per version (compiling.py).
        sql, params = lead_check_statement(dict(segments), lead_id=lead_id, now=now)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            matched = {segment_id for (segment_id,) in cursor.fetchall()}
        joined = _insert_members(lead_id=lead_id, segment_ids=sorted(matched - current), now=now)
        left = sorted(current - matched)
        if left:
            SegmentMember.objects.filter(lead_id=lead_id, segment_id__in=left).delete()
        for segment_id in joined:
            announce_on_commit(segment_joined, Segment, segment_id=segment_id, lead_ids=[lead_id])
        for segment_id in left:
            announce_on_commit(segment_left, Segment, segment_id=segment_id, lead_ids=[lead_id])
    return {"joined": joined, "left": left}


def refresh_segment(
    *, segment_id: int, now: datetime | None = None, lead_ids: Sequence[int] | None = None
) -> dict[str, list[int]]:
    """The full refresh of one segment, set-based: {"joined": lead ids, "left": lead ids}.

    `lead_ids`: only these leads (the same two statements, over a set instead of the table).
    """
    now = now or timezone.now()
    table = connection.ops.quote_name(SegmentMember._meta.db_table)
    with whole_table_query():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return {"joined": [], "left": []}
        if lead_ids is None:
            matching = matching_leads(segment.conditions, now=now)
            among, among_params = "", list[Any]()
        else:
            # A set of leads: each one's checks by its own rows, not a pass over the table.
            matching = Lead.objects.filter(pk__in=list(lead_ids)).filter(
                members_q(segment.conditions, now=now)
            )
            among, among_params = _among(lead_ids)
        sql, params = _sql(matching.order_by().values("id"))
        with connection.cursor() as cursor:
            # NOT EXISTS over the derived table: an anti-join, not NOT IN's subplan per row.
            cursor.execute(
                f"DELETE FROM {table} WHERE segment_id = %s{among} AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM ({sql}) AS matching WHERE matching.id = {table}.lead_id) "
                "RETURNING lead_id",
                [segment_id, *among_params, *params],
            )
            left = sorted(lead_id for (lead_id,) in cursor.fetchall())
            cursor.execute(
                f"INSERT INTO {table} (segment_id, lead_id, joined_at) "  # noqa: S608
                f"SELECT %s, matching.id, %s FROM ({sql}) AS matching WHERE NOT EXISTS "
                f"(SELECT 1 FROM {table} AS m WHERE m.segment_id = %s "
                "AND m.lead_id = matching.id) "
                "ON CONFLICT DO NOTHING RETURNING lead_id",
                [segment_id, now, *params, segment_id],
            )
            joined = sorted(lead_id for (lead_id,) in cursor.fetchall())
        if lead_ids is None:
            Segment.objects.filter(pk=segment_id).update(refreshed_at=now)
        if joined:
            announce_on_commit(segment_joined, Segment, segment_id=segment_id, lead_ids=joined)
        if left:
            announce_on_commit(segment_left, Segment, segment_id=segment_id, lead_ids=left)
    return {"joined": joined, "left": left}


def _among(lead_ids: Sequence[int]) -> tuple[str, list[Any]]:
    """The members' condition for a set of leads: one array parameter on PostgreSQL, a list
    of placeholders elsewhere (SQLite, `make run`'s database, has no ANY)."""
    if connection.vendor == "postgresql":
        return " AND lead_id = ANY(%s)", [list(lead_ids)]
    placeholders = ", ".join(["%s"] * len(lead_ids))
    return f" AND lead_id IN ({placeholders})", list(lead_ids)


def refresh_leads(*, lead_ids: Sequence[int], now: datetime | None = None) -> int:
    """Many leads that changed together, against every segment (each in its own transaction,
    as the full refresh): the number of joins and leaves."""
    if not lead_ids:
        return 0
    now = now or timezone.now()
    changed = 0
    for segment_id in Segment.objects.order_by("pk").values_list("pk", flat=True):
        result = refresh_segment(segment_id=segment_id, now=now, lead_ids=lead_ids)
        changed += len(result["joined"]) + len(result["left"])
    return changed


def refresh_all_segments(*, now: datetime | None = None) -> int:
    """Beat's full refresh: each segment in its own transaction. The number of changes."""
    now = now or timezone.now()
    changed = 0
    for segment_id in Segment.objects.values_list("pk", flat=True):
        result = refresh_segment(segment_id=segment_id, now=now)
        changed += len(result["joined"]) + len(result["left"])
    return changed


def _insert_members(*, lead_id: int, segment_ids: list[int], now: datetime) -> list[int]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the segments this call really added (a
    full refresh that got there first keeps its row, and announced it)."""
    if not segment_ids:
        return []
    table = connection.ops.quote_name(SegmentMember._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * len(segment_ids))
    params: list[Any] = []
    for segment_id in segment_ids:
        params += [segment_id, lead_id, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, lead_id, joined_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT DO NOTHING RETURNING segment_id",
            params,
        )
        return sorted(segment_id for (segment_id,) in cursor.fetchall())


def _sql(queryset: Any) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return str(sql), tuple(params)
