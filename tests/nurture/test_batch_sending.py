"""Sending in batches: one claim, one SMTP connection, each message recorded before the next,
and a connection that drops mid-batch costs one retry, not a lost or doubled email."""

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from capture.models import Lead
from nurture.models import Delivery, Enrollment
from nurture.services.sending import send_batch
from tests.factories import playbook_sequence
from tests.processes import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(settings: Any) -> Iterator[SmtpSink]:
    with SmtpSink() as smtp:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": smtp.port, "timeout": 5},
            }
        }
        yield smtp


def _queued(count: int, prefix: str = "batch") -> list[int]:
    sequence = playbook_sequence()
    step = sequence.steps.get(day=2)
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(email=f"{prefix}{i}@example.com", first_name="Bea") for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(lead=lead, sequence=sequence, started_at=now - timedelta(days=1))
        for lead in leads
    )
    rows = Delivery.objects.bulk_create(
        Delivery(enrollment=e, step=step, due_at=now, status=Delivery.Status.QUEUED)
        for e in enrollments
    )
    return [row.pk for row in rows]


def test_a_batch_goes_over_one_connection_and_each_row_is_marked_sent(sink: SmtpSink) -> None:
    ids = _queued(20)
    outcomes = send_batch(delivery_ids=ids)
    assert Counter(outcomes.values()) == {"sent": 20}
    assert sink.connections == 1
    assert sorted(sink.recipients()) == sorted(f"batch{i}@example.com" for i in range(20))
    sent = Delivery.objects.filter(pk__in=ids, status="sent")
    assert sent.count() == 20
    assert all(message_id.endswith(">") for message_id in sent.values_list("message_id", flat=True))
    # A second copy of the task claims nothing and sends nothing.
    assert send_batch(delivery_ids=ids) == {}
    assert len(sink.messages) == 20


def test_the_claim_and_loads_do_not_grow_with_the_batch(sink: SmtpSink) -> None:
    small = _queued(5, prefix="small")
    with CaptureQueriesContext(connection) as five:
        send_batch(delivery_ids=small)
    large = _queued(40, prefix="large")
    with CaptureQueriesContext(connection) as forty:
        send_batch(delivery_ids=large)
    # One claim, one load, one suppression read, then one UPDATE per message (the record
    # that makes a killed worker resend at most one), and a few for the batch's follow-ups.
    per_message = (len(forty) - len(five)) / 35
    assert per_message <= 1.0, [q["sql"][:80] for q in forty.captured_queries[:12]]


def test_a_connection_dropped_mid_batch_retries_that_one_and_sends_the_rest(
    sink: SmtpSink,
) -> None:
    ids = _queued(12)
    # The fifth message's connection dies before the server answers.
    original = sink.handle_DATA
    count = {"n": 0}

    async def flaky(server: Any, session: Any, envelope: Any) -> str:
        count["n"] += 1
        if count["n"] == 5:
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        return await original(server, session, envelope)

    sink.handle_DATA = flaky  # type: ignore[method-assign]
    outcomes = send_batch(delivery_ids=ids)
    assert Counter(outcomes.values()) == {"sent": 11, "retry": 1}
    assert sink.connections == 2, "a new connection for the rest of the batch"
    retried = Delivery.objects.get(pk__in=ids, status="scheduled")
    assert retried.attempts == 1 and "Disconnected" in retried.last_error
    assert len(set(sink.recipients())) == 11
    assert Delivery.objects.filter(pk__in=ids, status="sent").count() == 11
