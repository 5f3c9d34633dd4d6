"""Membership kept two ways — one lead as it changes, every lead at the full refresh — and
the two agree with each other and with the brute force, also after time moves on."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.models import Activity, Lead
from capture.services import record_activity
from nurture.models import Enrollment, Trigger
from segments.models import Segment, SegmentMember
from segments.services import create_segment, refresh_lead, refresh_leads, refresh_segment
from segments.signals import segment_joined, segment_left
from tests.factories import LeadFactory
from tests.journeys.triggering import waiting
from tests.segments.world import (
    NOW,
    build_world,
    expected_members,
    leads_strategy,
    load_facts,
    store_leads,
    trees,
)

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _members() -> set[tuple[int, int]]:
    return set(SegmentMember.objects.values_list("segment_id", "lead_id"))


def _stale(world: Any, segments: list[int], picks: list[tuple[int, int]]) -> None:
    """Membership rows as an earlier state left them (some right, some wrong)."""
    SegmentMember.objects.all().delete()
    pairs = {(segments[s % len(segments)], world.leads[w % len(world.leads)]) for s, w in picks}
    SegmentMember.objects.bulk_create(
        SegmentMember(segment_id=segment_id, lead_id=lead_id, joined_at=NOW)
        for segment_id, lead_id in pairs
    )


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_incremental_and_full_refresh_agree(data: st.DataObject) -> None:
    picks = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)), max_size=8)
    try:
        with transaction.atomic():
            world = build_world()
            store_leads(world, data.draw(leads_strategy, label="leads"))
            segments = [world.segment] + [
                Segment.objects.create(name=f"S{i}", conditions=data.draw(trees(world))).pk
                for i in range(2)
            ]
            facts = load_facts()
            for later in (timedelta(0), timedelta(days=data.draw(st.integers(1, 20)))):
                now = NOW + later
                expected = {
                    (segment.pk, lead_id)
                    for segment in Segment.objects.filter(pk__in=segments)
                    for lead_id in expected_members(segment.conditions, facts, now=now)
                }
                _stale(world, segments, data.draw(picks, label="stale before incremental"))
                for lead_id in world.leads:
                    refresh_lead(lead_id=lead_id, now=now)
                incremental = _members()
                _stale(world, segments, data.draw(picks, label="stale before full"))
                for segment_id in segments:
                    refresh_segment(segment_id=segment_id, now=now)
                full = _members()
                # A set of leads at once (an import's chunk): the others' rows untouched.
                _stale(world, segments, data.draw(picks, label="stale before the set"))
                chosen = data.draw(st.sets(st.sampled_from(world.leads)), label="the set")
                before = {(s, lead) for s, lead in _members() if lead not in chosen}
                refresh_leads(lead_ids=sorted(chosen), now=now)
                in_set = {(s, lead) for s, lead in expected if lead in chosen}
                assert _members() == before | in_set
                assert incremental == full == expected
            raise _Rollback
    except _Rollback:
        pass


@pytest.fixture
def hot_segment() -> Segment:
    return Segment.objects.create(
        name="Pricing readers",
        conditions={
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
        },
    )


def _listen(signal: Any) -> list[dict[str, Any]]:
    heard: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        heard.append({"segment_id": kwargs["segment_id"], "lead_ids": kwargs["lead_ids"]})

    signal.connect(receiver, weak=False, dispatch_uid=f"test-{id(heard)}")
    return heard


def test_it_reevaluates_one_lead_in_one_query_per_step(
    hot_segment: Segment, django_capture_on_commit_callbacks: Any
) -> None:
    Segment.objects.create(
        name="Hot",
        conditions={
            "match": "all",
            "conditions": [{"field": "temperature", "op": "is", "value": "hot"}],
        },
    )
    lead = LeadFactory(temperature="hot")
    with CaptureQueriesContext(connection) as queries:
        result = refresh_lead(lead_id=lead.pk, now=NOW)
    # savepoint, lock, segments, the one evaluation of all segments, current rows, insert
    evaluations = [q for q in queries if "AS verdict" in q["sql"]]
    assert len(evaluations) == 1
    assert len(queries) <= 8
    assert result["joined"] == [Segment.objects.get(name="Hot").pk]


def test_joins_and_leaves_are_announced_on_commit(
    hot_segment: Segment, django_capture_on_commit_callbacks: Any
) -> None:
    joined, left = _listen(segment_joined), _listen(segment_left)
    lead = LeadFactory()
    for _ in range(2):
        Activity.objects.create(
            lead=lead,
            kind="page_viewed",
            occurred_at=NOW - timedelta(days=3),
            metadata={"url": "https://x.example/pricing"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        refresh_lead(lead_id=lead.pk, now=NOW)
    assert joined[-1] == {"segment_id": hot_segment.pk, "lead_ids": [lead.pk]}
    # Twelve days on, the first view is out of the window: the full refresh notices.
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_segment(segment_id=hot_segment.pk, now=NOW + timedelta(days=12)) == {
            "joined": [],
            "left": [lead.pk],
        }
    assert left[-1] == {"segment_id": hot_segment.pk, "lead_ids": [lead.pk]}
    assert not SegmentMember.objects.exists()


def test_the_full_refresh_announces_a_set_once(
    hot_segment: Segment, django_capture_on_commit_callbacks: Any
) -> None:
    joined = _listen(segment_joined)
    leads = [LeadFactory() for _ in range(3)]
    Activity.objects.bulk_create(
        Activity(lead=lead, kind="page_viewed", occurred_at=NOW, metadata={"url": "/pricing"})
        for lead in leads
        for _ in range(2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        refresh_segment(segment_id=hot_segment.pk, now=NOW)
        refresh_segment(segment_id=hot_segment.pk, now=NOW)  # nothing new the second time
    mine = [event for event in joined if event["segment_id"] == hot_segment.pk]
    assert mine == [{"segment_id": hot_segment.pk, "lead_ids": sorted(lead.pk for lead in leads)}]
    assert SegmentMember.objects.filter(segment=hot_segment).count() == 3


def test_an_activity_puts_the_lead_in_the_segment_and_the_journey_it_starts(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Through the apps' own signals: record_activity → segments → a 'joined' trigger."""
    segment = Segment.objects.create(
        name="Pricing twice",
        conditions={
            "match": "all",
            "conditions": [
                {"field": "visited", "url": "*/pricing*"},
                {"field": "activity", "kind": "page_viewed", "op": "at_least", "count": 2},
            ],
        },
    )
    journey = waiting(Trigger.Kind.SEGMENT, {"segment": segment.pk}, name="Pricing follow-up")
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_activity(lead=lead, kind=Activity.Kind.PAGE_VIEWED, metadata={"url": "/pricing"})
    assert not SegmentMember.objects.filter(segment=segment).exists()
    with django_capture_on_commit_callbacks(execute=True):
        record_activity(lead=lead, kind=Activity.Kind.PAGE_VIEWED, metadata={"url": "/pricing"})
    assert SegmentMember.objects.filter(segment=segment, lead=lead).exists()
    enrollment = Enrollment.objects.get(lead=lead, sequence=journey)
    assert enrollment.trigger == f"Joined a segment: {segment.pk}"


def test_a_full_refresh_enters_its_joiners_in_bulk(django_capture_on_commit_callbacks: Any) -> None:
    segment = Segment.objects.create(
        name="Germany",
        conditions={
            "match": "all",
            "conditions": [{"field": "country", "op": "is", "value": "DE"}],
        },
    )
    journey = waiting(Trigger.Kind.SEGMENT, {"segment": segment.pk}, name="German leads")
    other = waiting(Trigger.Kind.SEGMENT, {"segment": segment.pk + 1000}, name="Someone else's")
    germans = [LeadFactory(country="DE") for _ in range(3)]
    LeadFactory(country="GB")
    with django_capture_on_commit_callbacks(execute=True):
        refresh_segment(segment_id=segment.pk)
    entered = set(Enrollment.objects.filter(sequence=journey).values_list("lead_id", flat=True))
    assert entered == {lead.pk for lead in germans}
    assert not Enrollment.objects.filter(sequence=other).exists()


def test_saving_a_segment_fills_it(django_capture_on_commit_callbacks: Any) -> None:
    # The suite runs tasks eagerly: the refresh the save enqueues runs on commit.
    hot = LeadFactory(temperature="hot")
    LeadFactory(temperature="cold")
    with django_capture_on_commit_callbacks(execute=True):
        segment = create_segment(
            name="Hot",
            conditions={
                "match": "all",
                "conditions": [{"field": "temperature", "op": "is", "value": "hot"}],
            },
        )
    assert list(segment.members.values_list("lead_id", flat=True)) == [hot.pk]
    assert Segment.objects.get(pk=segment.pk).refreshed_at is not None


def test_an_erased_lead_is_in_no_segment(hot_segment: Segment) -> None:
    lead = LeadFactory(email="erased-1@erased.invalid", temperature="hot")
    everyone = Segment.objects.create(
        name="Everyone", conditions={"match": "all", "conditions": []}
    )
    assert refresh_lead(lead_id=lead.pk, now=NOW) == {"joined": [], "left": []}
    assert refresh_segment(segment_id=everyone.pk, now=NOW)["joined"] == []
    assert Lead.objects.filter(pk=lead.pk).exists()
