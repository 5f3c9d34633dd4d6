"""The production sender (docker-compose.yml's `sender`: one process, two threads) SIGKILLed
mid-send: late but never lost, and resent only as far as the one send in flight. Real
Celery, PostgreSQL, both brokers; an aiosmtpd sink, and for the ESP the real anymail Mailjet
backend against a local fake of Mailjet's Send API.

What is in flight: one SMTP message, or one ESP batch call (up to 50 messages, one step's
recipients, which the ESP takes together and answers once). Each is recorded `sent` the
moment the server accepts it (an SMTP message alone; a call's rows in one UPDATE), before
the next goes, and a worker process has one in flight at a time (sending.py's `_IN_FLIGHT`,
across the threads pool's threads). So a worker killed mid-send resends at most that one
message or the messages of that one call, once; every other row of its batches is either
recorded `sent` or was never handed over, and goes after the lease.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from capture.models import LandingPage, Lead
from nurture.models import Delivery, Enrollment, Step
from nurture.services.esp_batch import MAILJET_MESSAGES_PER_CALL
from tests.nurture.fake_mailjet import API_KEY, SECRET_KEY, FakeMailjet, fake_mailjet
from tests.processes import SmtpSink, Stack, app_env, free_port, wait_until
from tests.reliability.conftest import Broker

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 200  # two send_batch tasks of 100, each four calls of 50


def _due(page: LandingPage, count: int, *, prefix: str) -> list[str]:
    step = Step.objects.get(sequence__entry_pages=page, day=2)
    due_at = timezone.now() - timedelta(minutes=1)
    leads = Lead.objects.bulk_create(
        Lead(email=f"{prefix}{i}@example.com", first_name="Dee") for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(lead=lead, sequence=step.sequence, started_at=due_at) for lead in leads
    )
    Delivery.objects.bulk_create(
        Delivery(enrollment=e, step=step, due_at=due_at) for e in enrollments
    )
    return [lead.email for lead in leads]


def _sender(stack: Stack, name: str) -> None:
    """The sending worker as docker-compose.yml's `sender` runs it: one process, two threads."""
    stack.start(
        "celery",
        "-A",
        "leadfunnel",
        "worker",
        "-Q",
        "sending",
        "--pool",
        "threads",
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        "-n",
        f"{name}-{free_port()}@%h",
        name=name,
    )


@pytest.fixture
def mailjet() -> Iterator[FakeMailjet]:
    with fake_mailjet() as fake:
        yield fake


class SlowSink(SmtpSink):
    """Takes each message, then waits before saying so: most of a send is in flight."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.02)
        return answer


@pytest.fixture
def slow_smtp() -> Iterator[SlowSink]:
    with SlowSink() as sink:
        yield sink


def test_a_worker_killed_mid_message_resends_at_most_that_message(
    page: LandingPage, broker: Broker, slow_smtp: SlowSink
) -> None:
    addresses = _due(page, 300, prefix="smtp")
    # Batches of 20 take well under the lease (a batch still sending past it would be
    # reclaimed and sent by another task as well: the lease must outlast a batch).
    stack = Stack(
        app_env(
            broker_url=broker.url,
            cache_url=broker.cache_url,
            smtp_port=slow_smtp.port,
            NURTURE_LEASE_SECONDS="5",
            NURTURE_SEND_BATCH="20",
        )
    )
    try:
        stack.beat()
        stack.worker(concurrency=1, name="tick", queues="celery")  # hand_out_due's queue
        _sender(stack, "doomed")
        doomed = stack.processes[-1]
        # Both threads busy (15 tasks of 20): each would hold a message, were a process
        # allowed two in flight.
        assert wait_until(lambda: len(slow_smtp.messages) >= 60, timeout=90), stack.tail()
        stack.kill(doomed)
        assert len(slow_smtp.messages) < len(addresses), "the kill came mid-batch"
        _sender(stack, "fresh")
        assert wait_until(
            lambda: len(set(slow_smtp.recipients())) >= len(addresses), timeout=120
        ), stack.tail()
        time.sleep(3)
    finally:
        stack.stop_all()
    counts = Counter(slow_smtp.recipients())
    assert set(counts) == set(addresses), "every delivery was sent"
    twice = [address for address, n in counts.items() if n > 1]
    assert len(twice) <= 1, f"one killed worker process resent {twice}"
    assert Delivery.objects.filter(status="sent").count() == len(addresses)


def test_a_worker_killed_mid_call_resends_at_most_that_call(
    page: LandingPage, broker: Broker, smtp: SmtpSink, mailjet: FakeMailjet
) -> None:
    addresses = _due(page, ROWS, prefix="esp")
    # The first call is answered; from the second on the fake takes the messages and never
    # answers, so the worker dies holding a call the ESP has already sent.
    mailjet.hold_from = 2
    stack = Stack(
        app_env(
            broker_url=broker.url,
            cache_url=broker.cache_url,
            smtp_port=smtp.port,
            NURTURE_LEASE_SECONDS="5",
            ESP="mailjet",
            ANYMAIL_MAILJET_API_KEY=API_KEY,
            ANYMAIL_MAILJET_SECRET_KEY=SECRET_KEY,
            ANYMAIL_MAILJET_API_URL=mailjet.api_url,
            DEFAULT_FROM_EMAIL="Acme <hello@leads.acme.com>",
        )
    )
    try:
        stack.beat()
        stack.worker(concurrency=1, name="tick", queues="celery")  # hand_out_due's queue
        _sender(stack, "doomed")
        doomed = stack.processes[-1]
        assert wait_until(lambda: bool(mailjet.holding), timeout=90), stack.tail()
        # Both tasks are in the worker (prefetch 1 a thread): time for the other thread to
        # make its call too, were a process allowed two in flight.
        time.sleep(3)
        held = [call for index, call in enumerate(mailjet.calls) if index in mailjet.holding]
        stack.kill(doomed)
        assert Delivery.objects.filter(status="sent").count() == MAILJET_MESSAGES_PER_CALL, (
            "the answered call's rows were recorded sent at once"
        )
        mailjet.release.set()  # the next worker's calls are answered
        _sender(stack, "fresh")
        assert wait_until(
            lambda: Delivery.objects.filter(status="sent").count() == ROWS, timeout=120
        ), stack.tail()
        time.sleep(3)  # a few more ticks: nothing else goes
    finally:
        stack.stop_all()
    assert len(held) == 1, f"{len(held)} calls were in flight in one worker process"
    in_flight = {message["To"][0]["Email"] for message in held[0]["Messages"]}
    counts = Counter(mailjet.recipients())
    assert set(counts) == set(addresses), "every delivery was sent"
    twice = {address for address, n in counts.items() if n > 1}
    # Only the messages of the call in flight at the kill went out again, once.
    assert twice <= in_flight and len(in_flight) <= MAILJET_MESSAGES_PER_CALL, twice - in_flight
    assert max(counts.values()) <= 2
    assert not mailjet.problems and not smtp.messages
    ids = {got.to: got.message_id for got in mailjet.rendered}  # the last answer of each
    for delivery in Delivery.objects.select_related("enrollment__lead"):
        assert delivery.status == "sent" and delivery.message_id
        assert delivery.message_id == ids[delivery.enrollment.lead.email]
