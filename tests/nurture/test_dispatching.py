"""The tick hands due emails to workers (nurture.services.dispatching): each due row is
claimed once however many dispatchers run, a row stuck past its lease comes back, and the
ESP quotas are shared fairly between sequences."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import TestCase

from nurture.models import Delivery, Enrollment
from nurture.services.dispatching import (
    claim_due_deliveries,
    hand_out_due,
    reclaim_stale,
    sending_allowance,
)
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, SequenceFactory, StepFactory, playbook_sequence

pytestmark = pytest.mark.django_db

MONDAY_10_BERLIN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
on_commit = TestCase.captureOnCommitCallbacks


def _enrolled(**lead: Any) -> Enrollment:
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(MONDAY_10_BERLIN, tick=False), on_commit(execute=True):
        enrollment = enroll_lead(
            lead=LeadFactory(time_zone="Europe/Berlin", **lead), sequence=sequence
        )
    assert enrollment is not None
    return enrollment


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_claim_the_same_row() -> None:
    sequence = SequenceFactory(weekdays=list(range(7)))
    step = StepFactory(sequence=sequence, day=2)
    past = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(200):
        enrollment = Enrollment.objects.create(
            lead=LeadFactory(), sequence=sequence, started_at=past
        )
        Delivery.objects.create(enrollment=enrollment, step=step, due_at=past)
    claims: list[list[int]] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                claims.append(claim_due_deliveries(limit=15))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [pk for batch in claims for pk in batch]
    assert len(claimed) == len(set(claimed)) == 200
    assert Delivery.objects.filter(status="queued").count() == 200


def test_a_row_stuck_past_its_lease_is_reclaimed(settings: Any) -> None:
    settings.NURTURE_LEASE_SECONDS = 300
    enrollment = _enrolled()
    stuck = enrollment.deliveries.get(step__day=2)
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    Delivery.objects.filter(pk=stuck.pk).update(
        status="sending", status_changed_at=now - timedelta(seconds=301)
    )
    fresh = enrollment.deliveries.get(step__day=3)
    Delivery.objects.filter(pk=fresh.pk).update(
        status="queued", status_changed_at=now - timedelta(seconds=10)
    )
    assert reclaim_stale(now=now) == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, fresh.status) == ("scheduled", "queued")


def _due_rows(sequence_count: dict[str, int]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for name, count in sequence_count.items():
        sequence = SequenceFactory(name=name)
        step = StepFactory(sequence=sequence, day=2)
        for _ in range(count):
            enrollment = Enrollment.objects.create(
                lead=LeadFactory(), sequence=sequence, started_at=START
            )
            Delivery.objects.create(enrollment=enrollment, step=step, due_at=START)
        rows[name] = list(Delivery.objects.filter(step=step).values_list("pk", flat=True))
    return rows


def test_a_big_campaign_does_not_starve_a_small_sequence() -> None:
    rows = _due_rows({"big": 60, "small": 5, "medium": 12})
    claimed = set(claim_due_deliveries(limit=30, now=START + timedelta(hours=1)))
    assert len(claimed) == 30
    assert set(rows["small"]) <= claimed, "the small sequence gets all it needs"
    assert set(rows["medium"]) <= claimed
    assert len(claimed & set(rows["big"])) == 13


def test_the_hourly_quota_caps_each_tick(settings: Any) -> None:
    settings.NURTURE_MAX_PER_HOUR = 20
    settings.NURTURE_DISPATCH_BATCH = 500
    rows = _due_rows({"campaign": 30})
    now = START + timedelta(hours=1)
    Delivery.objects.filter(pk__in=rows["campaign"][:8]).update(status="sent", sent_at=now)
    assert sending_allowance(now=now) == 12
    with time_machine.travel(now, tick=False):
        result = hand_out_due()
    assert len(result.claimed) == 12
    assert sending_allowance(now=now) == 0


def test_the_per_second_quota_spreads_a_tick(settings: Any) -> None:
    settings.NURTURE_MAX_PER_SECOND = 2
    settings.NURTURE_TICK_SECONDS = 5
    assert sending_allowance() == 10


def test_rows_still_queued_count_against_the_next_tick(settings: Any) -> None:
    settings.NURTURE_DISPATCH_BATCH = 10
    rows = _due_rows({"campaign": 12})
    Delivery.objects.filter(pk__in=rows["campaign"][:4]).update(status="queued")
    assert sending_allowance() == 6, "slow workers are not handed more than they can take"
