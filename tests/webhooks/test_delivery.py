"""Delivering one event: signed, retried with backoff, given up on, claimed once, reclaimed."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from kombu.exceptions import OperationalError

from leadfunnel.outbound import backoff
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks import services, signing, tasks
from webhooks.models import Endpoint, Event, EventType, WebhookDelivery

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Status = WebhookDelivery.Status


def _publish(callbacks: Any, event_type: str = EventType.LEAD_HOT) -> Event | None:
    with callbacks(execute=True):
        return services.publish_event(type=event_type, payload={"lead": {"id": 7}})


def _delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


def test_it_posts_a_signed_body_a_receiver_can_verify(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(NOW, tick=False):
        event = _publish(django_capture_on_commit_callbacks)
    assert event is not None
    [got] = receiver.received
    assert got.signature_valid, "the receiver's own HMAC check accepts it"
    assert got.json == {
        "id": str(event.id),
        "type": "lead.hot",
        "created_at": "2026-03-02T09:00:00Z",
        "data": {"lead": {"id": 7}},
    }
    timestamp = int(NOW.timestamp())
    delivery = _delivery()
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-leadfunnel-event"] == "lead.hot"
    assert got.headers["x-leadfunnel-delivery"] == str(delivery.pk)
    assert got.headers["x-leadfunnel-timestamp"] == str(timestamp)
    assert got.headers["x-leadfunnel-signature"].startswith(f"t={timestamp},v1=")
    assert signing.verify(
        secret=receiver.secret,
        header=got.headers["x-leadfunnel-signature"],
        body=got.body,
        now=timestamp + 10,
    )
    assert delivery.status == Status.SUCCEEDED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.last_response == "ok"
    assert delivery.last_response_ms is not None and delivery.delivered_at == NOW


def test_a_tampered_body_or_a_wrong_secret_or_an_old_timestamp_fails_verification(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(NOW, tick=False):
        _publish(django_capture_on_commit_callbacks)
    [got] = receiver.received
    header, now = got.headers["x-leadfunnel-signature"], int(NOW.timestamp())
    tampered = got.body.replace(b'"id":7', b'"id":8')
    assert tampered != got.body
    assert not signing.verify(secret=receiver.secret, header=header, body=tampered, now=now)
    assert not signing.verify(secret="another-secret", header=header, body=got.body, now=now)
    assert not signing.verify(secret=receiver.secret, header=header, body=got.body, now=now + 301)
    assert not signing.verify(secret=receiver.secret, header="v1=abc", body=got.body, now=now)


def test_it_retries_a_500_with_exponential_backoff_until_it_succeeds(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.statuses = [500, 503]
    with time_machine.travel(NOW, tick=False) as clock:
        _publish(django_capture_on_commit_callbacks)
        first = _delivery()
        assert (first.status, first.attempts, first.last_status_code) == (Status.RETRYING, 1, 500)
        assert first.last_error == "The receiver answered 500."
        # 60 s × 2^0, plus up to 20 % jitter.
        assert NOW + timedelta(seconds=60) <= first.next_attempt_at <= NOW + timedelta(seconds=72)

        clock.move_to(NOW + timedelta(seconds=59))
        assert services.hand_out_due() == 0, "not due yet"
        clock.move_to(first.next_attempt_at)
        assert tasks.hand_out_due() == 1
        second = _delivery()
        assert (second.status, second.attempts, second.last_status_code) == (
            Status.RETRYING,
            2,
            503,
        )
        wait = second.next_attempt_at - first.next_attempt_at
        assert timedelta(seconds=120) <= wait <= timedelta(seconds=144), "60 s × 2^1"

        clock.move_to(second.next_attempt_at)
        services.hand_out_due()
    done = _delivery()
    assert (done.status, done.attempts, done.last_status_code) == (Status.SUCCEEDED, 3, 200)
    assert done.last_error == "" and done.next_attempt_at is None
    assert [r.headers["x-leadfunnel-attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert len({r.json["id"] for r in receiver.received}) == 1, "one event id on every attempt"
    assert all(r.signature_valid for r in receiver.received)


def test_the_backoff_doubles_with_jitter_and_a_cap(settings: Any) -> None:
    settings.WEBHOOKS_RETRY_BASE_SECONDS, settings.WEBHOOKS_RETRY_MAX_SECONDS = 60, 3600
    waits = [services.retry_wait(attempts=n, draw=0) for n in range(1, 9)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert services.retry_wait(attempts=1, draw=1) == pytest.approx(72)
    assert all(60 <= services.retry_wait(attempts=1) <= 72 for _ in range(50))


def test_one_backoff_serves_webhooks_and_emails() -> None:
    # leadfunnel.outbound.backoff: the webhooks' settings above, nurture's for email retries.
    wait = backoff.backoff_seconds
    waits = [wait(attempts=n, base=60, cap=300, jitter=0) for n in range(1, 5)]
    assert waits == [60, 120, 240, 300]
    assert wait(attempts=3, base=60, cap=300, jitter=0.5, draw=1) == 360
    assert wait(attempts=0, base=60, cap=300, draw=0) == 60, "no attempt yet waits the base"


def test_a_receiver_slower_than_the_timeout_is_retried_with_the_reason(
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.2
    receiver.delay = 0.6
    _publish(django_capture_on_commit_callbacks)
    delivery = _delivery()
    assert (delivery.status, delivery.attempts) == (Status.RETRYING, 1)
    assert delivery.last_error == "Timed out after 0.2 s."
    assert delivery.last_status_code is None
    assert delivery.last_response_ms is not None and delivery.last_response_ms < 600


def test_it_gives_up_after_the_last_attempt(
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    receiver.statuses = [500, 500, 500, 500]
    with time_machine.travel(NOW, tick=False) as clock:
        _publish(django_capture_on_commit_callbacks)
        for _ in range(2):
            clock.move_to(_delivery().next_attempt_at)
            services.hand_out_due()
        failed = _delivery()
        assert (failed.status, failed.attempts, failed.next_attempt_at) == (Status.FAILED, 3, None)
        assert failed.last_error == "The receiver answered 500. Gave up after 3 attempts."
        clock.move_to(NOW + timedelta(days=2))
        assert services.hand_out_due() == 0
    assert len(receiver.received) == 3


def test_a_refused_connection_is_retried(
    django_capture_on_commit_callbacks: Any,
) -> None:
    closed = Receiver()
    closed.start()
    url = closed.url
    closed.stop()  # nothing listens on that port any more
    EndpointFactory(url=url)
    _publish(django_capture_on_commit_callbacks)
    delivery = _delivery()
    assert delivery.status == Status.RETRYING
    assert delivery.last_error.startswith("Could not connect:")


def test_redirects_are_not_followed(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.statuses = [302]
    receiver.headers_out = {"Location": "http://169.254.169.254/latest/meta-data/"}
    _publish(django_capture_on_commit_callbacks)
    delivery = _delivery()
    assert len(receiver.received) == 1
    assert delivery.status == Status.RETRYING and delivery.last_status_code == 302
    assert "Redirects are not followed" in delivery.last_error


def test_only_the_start_of_a_big_answer_is_read_and_kept(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.answer = b"x" * 2_000_000
    _publish(django_capture_on_commit_callbacks)
    delivery = _delivery()
    assert delivery.status == Status.SUCCEEDED
    assert delivery.last_response == "x" * 1000


def test_endpoints_not_subscribed_or_switched_off_get_nothing(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    EndpointFactory(url=receiver.url, events=[EventType.BOOKING_CREATED])
    EndpointFactory(url=receiver.url, is_active=False)
    assert _publish(django_capture_on_commit_callbacks, EventType.LEAD_HOT) is None
    assert not Event.objects.exists() and not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_each_subscribed_endpoint_gets_its_own_delivery(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(2):
        EndpointFactory(url=receiver.url, secret=receiver.secret, events=[EventType.LEAD_HOT])
    EndpointFactory(url=receiver.url, events=[EventType.LEAD_CREATED])
    _publish(django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.filter(status=Status.SUCCEEDED).count() == 2
    assert len(receiver.received) == 2 and all(r.signature_valid for r in receiver.received)


def test_an_endpoint_switched_off_after_publishing_is_not_called(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.statuses = [500]
    _publish(django_capture_on_commit_callbacks)
    Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    WebhookDelivery.objects.update(next_attempt_at=datetime.now(tz=UTC))
    services.hand_out_due()
    delivery = _delivery()
    assert delivery.status == Status.FAILED
    assert delivery.last_error.startswith("The endpoint is switched off.")
    assert len(receiver.received) == 1


def test_nothing_is_queued_before_the_publishing_transaction_commits(
    receiver: Receiver, endpoint: Endpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.publish_event(type=EventType.LEAD_HOT, payload={})
    assert receiver.received == [] and _delivery().status == Status.PENDING
    assert len(callbacks) == 1


def test_with_the_broker_down_the_delivery_waits_for_beat(
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.deliver_webhook, "apply_async", broker_down)
        _publish(django_capture_on_commit_callbacks)
        assert _delivery().status == Status.PENDING
        assert services.hand_out_due() == 1 and _delivery().status == Status.PENDING
    assert receiver.received == []
    assert services.hand_out_due() == 1, "the broker is back"
    assert _delivery().status == Status.SUCCEEDED and len(receiver.received) == 1


def test_rows_stuck_in_flight_past_the_lease_are_sent_again(
    receiver: Receiver, endpoint: Endpoint, settings: Any
) -> None:
    settings.WEBHOOKS_LEASE_SECONDS = 300
    event = Event.objects.create(type=EventType.LEAD_HOT, payload={})
    # A worker died while sending (sending), and a broker message was lost (queued).
    for status in (Status.SENDING, Status.QUEUED):
        lost = WebhookDelivery.objects.create(
            endpoint=EndpointFactory(url=receiver.url),
            event=event,
            status=status,
            attempts=1,
            next_attempt_at=NOW + timedelta(seconds=300),
        )
    with time_machine.travel(NOW + timedelta(seconds=299), tick=False):
        assert services.hand_out_due() == 0, "still within the lease"
        assert services.deliver_webhook(delivery_id=lost.pk + 1000) == "skipped"
    with time_machine.travel(NOW + timedelta(seconds=301), tick=False):
        assert services.hand_out_due() == 2
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(Status.SUCCEEDED, 2)}
    assert len(receiver.received) == 2


def test_a_delivery_that_is_done_or_not_due_is_not_sent_by_a_stray_task(
    receiver: Receiver, endpoint: Endpoint
) -> None:
    event = Event.objects.create(type=EventType.LEAD_HOT, payload={})
    later = datetime.now(tz=UTC) + timedelta(minutes=5)
    done = WebhookDelivery.objects.create(endpoint=endpoint, event=event, status=Status.SUCCEEDED)
    waiting = WebhookDelivery.objects.create(
        endpoint=EndpointFactory(url=receiver.url),
        event=event,
        status=Status.RETRYING,
        next_attempt_at=later,
    )
    assert tasks.deliver_webhook(done.pk) == "skipped"
    assert tasks.deliver_webhook(waiting.pk) == "skipped"
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_one_delivery_send_it_once(receiver: Receiver) -> None:
    endpoint = EndpointFactory(url=receiver.url, secret=receiver.secret)
    event = Event.objects.create(type=EventType.LEAD_HOT, payload={"lead": {"id": 1}})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=Status.QUEUED, next_attempt_at=NOW
    )
    receiver.release = threading.Event()  # hold the first answer while the second tries
    outcomes: list[str] = []

    def first_worker() -> None:
        try:
            outcomes.append(services.deliver_webhook(delivery_id=delivery.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert receiver.got_request.wait(timeout=5), "the first worker is sending"
    second = services.deliver_webhook(delivery_id=delivery.pk)
    receiver.release.set()
    worker.join(timeout=10)
    assert (outcomes, second) == (["succeeded"], "skipped")
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)


def test_beat_hands_out_what_is_due_every_half_minute(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["webhooks-hand-out-due"]
    assert entry == {"task": tasks.hand_out_due.name, "schedule": 30.0}
    assert tasks.hand_out_due.name == "webhooks.tasks.hand_out_due"


def test_the_old_task_name_still_hands_out_what_is_due(
    receiver: Receiver, endpoint: Endpoint
) -> None:
    # A beat still running the schedule from before the rename, or a queued message.
    services.publish_event(type=EventType.LEAD_CREATED, payload={})  # not handed out: no commit
    assert tasks.retry_due.name == "webhooks.tasks.retry_due"
    assert tasks.retry_due() == 1
    assert len(receiver.received) == 1
