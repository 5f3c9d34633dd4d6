"""One lead's re-evaluation reuses each segment's compiled SQL: compiled once per version of
the segment (and of the segments it refers to), with `now` moved into its parameters."""

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from capture.models import Activity, Lead
from segments import compiling
from segments.models import Segment, SegmentMember
from segments.services import refresh_lead, update_segment
from tests.factories import LeadFactory
from tests.segments.world import NOW

pytestmark = pytest.mark.django_db

PRICING_TWICE = {
    "match": "all",
    "conditions": [
        {
            "field": "activity",
            "kind": "page_viewed",
            "url": "*/pricing*",
            "op": "at_least",
            "count": 2,
            "within_days": 14,
        },
    ],
}
# Constants of many kinds next to instants relative to now, and an absolute date.
MIXED = {
    "match": "any",
    "conditions": [
        {"field": "temperature", "op": "in", "value": ["hot", "warm"]},
        {
            "match": "all",
            "conditions": [
                {"field": "answer", "key": "timeline", "op": "is", "value": "Within a month"},
                {"field": "created_at", "op": "in_last_days", "value": 30},
                {"field": "last_activity_at", "op": "on_or_after", "value": "2026-01-01"},
                {"field": "opened", "within_days": 7},
                {"field": "score", "op": "at_least", "value": 50},
            ],
        },
    ],
}


def _views(lead: Lead, *days_ago: int) -> None:
    Activity.objects.bulk_create(
        Activity(
            lead=lead,
            kind="page_viewed",
            occurred_at=NOW - timedelta(days=days),
            metadata={"url": "https://x.example/pricing"},
        )
        for days in days_ago
    )


def _one(field: str, value: Any) -> dict[str, Any]:
    return {"match": "all", "conditions": [{"field": field, "op": "is", "value": value}]}


def _in(segment: Segment, lead: Lead) -> bool:
    return SegmentMember.objects.filter(segment=segment, lead=lead).exists()


@pytest.fixture
def compiles() -> Any:
    """Counts the trees compiled to SQL (what the cache saves)."""
    with mock.patch.object(compiling, "members_q", wraps=compiling.members_q) as spy:
        yield spy


def test_it_compiles_each_segment_once_and_moves_now_into_the_parameters(compiles: Any) -> None:
    pricing = Segment.objects.create(name="Pricing twice", conditions=PRICING_TWICE)
    Segment.objects.create(name="Mixed", conditions=MIXED)
    reader, other = LeadFactory(temperature="cold"), LeadFactory(temperature="cold")
    _views(reader, 3, 10)
    refresh_lead(lead_id=reader.pk, now=NOW)
    first = compiles.call_count
    assert first > 0
    assert _in(pricing, reader)
    refresh_lead(lead_id=other.pk, now=NOW)
    # Five days on, the view of ten days ago is out of the 14-day window.
    refresh_lead(lead_id=reader.pk, now=NOW + timedelta(days=5))
    assert compiles.call_count == first
    assert not _in(pricing, reader)
    assert not _in(pricing, other)


def test_a_check_reuses_every_kind_of_parameter() -> None:
    segments = {1: MIXED}
    compiling.lead_check_statement(segments, lead_id=1, now=NOW)
    _, reusable = compiling._LEAD_CHECKS[("default", 1)]
    assert reusable is not None
    # created_at's window and the opens' window move with now; the absolute date does not.
    assert len(reusable.relative) == 2
    later = NOW + timedelta(days=3)
    fresh = compiling._compile_lead_check(MIXED, now=later)
    assert reusable.sql == fresh.sql
    moved = reusable.params_at(later)
    assert len(moved) == len(fresh.params)
    assert all(compiling._same(a, b) for a, b in zip(moved, fresh.params, strict=True))


def test_editing_a_segment_compiles_it_again() -> None:
    segment = Segment.objects.create(name="Hot", conditions=_one("temperature", "hot"))
    lead = LeadFactory(temperature="warm")
    refresh_lead(lead_id=lead.pk, now=NOW)
    assert not _in(segment, lead)
    update_segment(segment=segment, conditions=_one("temperature", "warm"))
    refresh_lead(lead_id=lead.pk, now=NOW)
    assert _in(segment, lead)


def test_editing_a_segment_another_refers_to_changes_that_one_too() -> None:
    inner = Segment.objects.create(name="Hot", conditions=_one("temperature", "hot"))
    outer = Segment.objects.create(name="In Hot", conditions=_one("segment", inner.pk))
    lead = LeadFactory(temperature="warm")
    refresh_lead(lead_id=lead.pk, now=NOW)
    assert not _in(outer, lead)
    update_segment(segment=inner, conditions=_one("temperature", "warm"))
    refresh_lead(lead_id=lead.pk, now=NOW)
    assert _in(inner, lead) and _in(outer, lead)
    inner.delete()  # a deleted segment matches no one, in the cached statement too
    refresh_lead(lead_id=lead.pk, now=NOW)
    assert not _in(outer, lead)
