"""Workers killed, SMTP failing, two beats, a beat that was down: late but never lost, and
never twice (but for what was in flight at a kill). Real Celery, PostgreSQL, aiosmtpd."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from capture.models import LandingPage, Lead
from nurture.models import Delivery, Enrollment, Step
from tests.processes import SmtpSink, Stack, app_env, wait_until
from tests.reliability.conftest import Broker

pytestmark = pytest.mark.django_db(transaction=True)


def _due_deliveries(page: LandingPage, count: int, *, due_ago: timedelta) -> list[str]:
    """`count` leads whose Day-2 email was due `due_ago` ago; returns their addresses."""
    step = Step.objects.get(sequence__entry_pages=page, day=2)
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(email=f"due{i}@example.com", first_name="Dee") for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(lead=lead, sequence=step.sequence, started_at=now - due_ago) for lead in leads
    )
    Delivery.objects.bulk_create(
        Delivery(enrollment=e, step=step, due_at=now - due_ago) for e in enrollments
    )
    return [lead.email for lead in leads]


def _stack(broker: Broker, smtp: SmtpSink, **extra: str) -> Stack:
    return Stack(
        app_env(
            broker_url=broker.url,
            cache_url=broker.cache_url,
            smtp_port=smtp.port,
            NURTURE_LEASE_SECONDS="5",
            **extra,
        )
    )


def test_a_killed_worker_delays_but_never_drops(
    page: LandingPage, broker: Broker, smtp: SmtpSink
) -> None:
    addresses = _due_deliveries(page, 500, due_ago=timedelta(minutes=1))
    concurrency = 2
    stack = _stack(broker, smtp)
    try:
        stack.beat()
        first = stack.worker(concurrency=concurrency, name="doomed")
        assert wait_until(lambda: len(smtp.messages) >= 100, timeout=90), stack.tail()
        stack.kill(first)
        sent_before_kill = len(smtp.messages)
        assert sent_before_kill < 500, "the kill came mid-batch"
        stack.worker(concurrency=concurrency, name="fresh")
        assert wait_until(lambda: len(set(smtp.recipients())) >= 500, timeout=120), stack.tail()
        time.sleep(3)
    finally:
        stack.stop_all()
    counts = Counter(smtp.recipients())
    assert set(counts) == set(addresses), "every delivery was sent"
    twice = [address for address, n in counts.items() if n > 1]
    # Only an email in flight at the kill (sent, not yet marked) can go out again.
    assert len(twice) <= concurrency, twice
    assert all(n <= 2 for n in counts.values())
    assert Delivery.objects.filter(status="sent").count() == 500


def test_smtp_failures_retry_or_stop(page: LandingPage, broker: Broker, smtp: SmtpSink) -> None:
    addresses = _due_deliveries(page, 2, due_ago=timedelta(minutes=1))
    smtp.answers = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    stack = _stack(broker, smtp, NURTURE_RETRY_BASE_SECONDS="1", NURTURE_MAX_ATTEMPTS="5")
    try:
        stack.beat()
        stack.worker(concurrency=1)
        assert wait_until(lambda: len(smtp.messages) == 2, timeout=60), stack.tail()
        retried = Delivery.objects.filter(attempts__gt=1, status="sent")
        assert retried.count() >= 1, "a temporary failure was retried and then sent"
        assert sorted(smtp.recipients()) == sorted(addresses)

        late = _due_deliveries_named(page, "hard@example.com")
        smtp.answers = ["554 5.7.1 Message rejected"]
        assert wait_until(
            lambda: Delivery.objects.filter(pk=late, status="failed").exists(), timeout=30
        ), stack.tail()
        failed = Delivery.objects.get(pk=late)
        assert failed.attempts == 1 and "554" in failed.last_error
        time.sleep(3)
        assert smtp.count_for("hard@example.com") == 0
        assert Delivery.objects.get(pk=late).attempts == 1, "no retry of a permanent failure"
    finally:
        stack.stop_all()


def test_an_smtp_server_hanging_up_mid_batch_costs_one_retry(
    page: LandingPage, broker: Broker, smtp: SmtpSink
) -> None:
    addresses = _due_deliveries(page, 60, due_ago=timedelta(minutes=1))
    # The 20th message's connection dies before the server answers it.
    smtp.answers = [""] * 19 + ["DROP"]
    stack = _stack(broker, smtp, NURTURE_RETRY_BASE_SECONDS="1", NURTURE_SEND_BATCH="30")
    try:
        stack.beat()
        stack.worker(concurrency=1)
        assert wait_until(lambda: len(set(smtp.recipients())) >= 60, timeout=90), stack.tail()
        time.sleep(2)
    finally:
        stack.stop_all()
    counts = Counter(smtp.recipients())
    assert set(counts) == set(addresses) and max(counts.values()) == 1, "each once, none lost"
    assert Delivery.objects.filter(status="sent").count() == 60
    assert Delivery.objects.filter(attempts=2).count() == 1, "only the dropped one was retried"
    # Two batches of 30 over one connection each, and one more after the hang-up (the
    # retry goes in a later batch of its own).
    assert 3 <= smtp.connections <= 4, smtp.connections


def _due_deliveries_named(page: LandingPage, email: str) -> int:
    step = Step.objects.get(sequence__entry_pages=page, day=2)
    lead = Lead.objects.create(email=email)
    enrollment = Enrollment.objects.create(
        lead=lead, sequence=step.sequence, started_at=timezone.now()
    )
    return Delivery.objects.create(enrollment=enrollment, step=step, due_at=timezone.now()).pk


def test_two_beats_and_a_beat_down_for_an_hour_send_each_email_once(
    page: LandingPage, broker: Broker, smtp: SmtpSink
) -> None:
    # Due an hour ago, while no beat ran: late, not lost.
    addresses = _due_deliveries(page, 60, due_ago=timedelta(hours=1))
    stack = _stack(broker, smtp)
    try:
        stack.beat()
        stack.beat()
        stack.worker(concurrency=2)
        assert wait_until(lambda: len(smtp.messages) >= 60, timeout=60), stack.tail()
        time.sleep(4)  # several more ticks from both beats
    finally:
        stack.stop_all()
    assert sorted(smtp.recipients()) == sorted(addresses), "each once"
