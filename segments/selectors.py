"""Reads the builder, the admin and the API share."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from capture.models import Lead
from segments.compiling import matching_leads, whole_table_query
from segments.models import Segment, SegmentMember

SAMPLE_SIZE = 20


def count_matching(*, tree: Mapping[str, Any], now: datetime) -> int:
    """The live count of a tree (saved or being built): one SELECT COUNT(*)."""
    with whole_table_query():
        return matching_leads(tree, now=now).count()


def sample_matching(
    *, tree: Mapping[str, Any], now: datetime, limit: int = SAMPLE_SIZE
) -> list[Lead]:
    """ "Show me 20 of them": the most recently active first."""
    with whole_table_query():
        return list(matching_leads(tree, now=now).order_by("-last_activity_at", "-id")[:limit])


def segment_members(*, segment_id: int) -> QuerySet[SegmentMember]:
    return SegmentMember.objects.filter(segment_id=segment_id).select_related("lead")


def segment_filter_choices() -> list[tuple[str, str]]:
    """The saved segments as the sales dashboard's filter lists them, by name."""
    return [
        (str(pk), name) for pk, name in Segment.objects.order_by("name").values_list("pk", "name")
    ]


def member_lead_ids(value: str) -> QuerySet[SegmentMember, Any]:
    """The lead ids in segment `value` now (its kept membership), as a subquery; none for a
    value that names no segment."""
    members = SegmentMember.objects.all() if value.isdigit() else SegmentMember.objects.none()
    if value.isdigit():
        members = members.filter(segment_id=int(value))
    return members.values("lead_id")
