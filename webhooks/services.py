"""Outbound webhooks' writes: publish an event, deliver it, retry what is due, replay.

A delivery moves pending → queued (handed to the broker) → sending (a worker claimed it) →
succeeded, or retrying (back to queued when due) until WEBHOOKS_MAX_ATTEMPTS, then failed.
Every move is a conditional UPDATE, so a duplicated task message or two workers at once send a
row once; a row stuck queued or sending past its lease (`next_attempt_at` is the lease's end
while in flight) is picked up again by `hand_out_due`. Delivery is at-least-once: a worker that
dies after the POST but before recording it makes the row go out again, and receivers dedupe
by the event's `id`.
"""

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leadfunnel.outbound import backoff, http
from webhooks import payloads, queueing, signing
from webhooks.models import Endpoint, Event, EventType, WebhookDelivery, new_secret

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
USER_AGENT = "leadfunnel-webhooks/1.0"
ERROR_CHARS = 1000


# Publishing ------------------------------------------------------------------------------


def publish_event(*, type: str, payload: dict[str, Any]) -> Event | None:
    """Record the event and one delivery per active endpoint subscribed to `type`.

    One transaction; the deliveries are handed to workers when it commits (so calling this
    inside a caller's transaction sends nothing if that transaction rolls back). Returns None
    when no endpoint listens, without writing anything.
    """
    endpoint_ids = subscribed_endpoint_ids(event_type=type)
    if not endpoint_ids:
        return None
    return _create(event_type=type, payload=payload, endpoint_ids=endpoint_ids)


def subscribed_endpoint_ids(*, event_type: str) -> list[int]:
    # Endpoints are few; filtering the JSON list in Python keeps SQLite working (no @>).
    endpoints = Endpoint.objects.filter(is_active=True).only("pk", "events").order_by("pk")
    return [endpoint.pk for endpoint in endpoints if endpoint.subscribes_to(event_type)]


def publish_lead_created(*, lead_id: int) -> Event | None:
    return _announce(EventType.LEAD_CREATED, lead_id=lead_id, extra=dict)


def publish_lead_hot(*, lead_id: int, old: str) -> Event | None:
    return _announce(
        EventType.LEAD_HOT, lead_id=lead_id, extra=lambda: {"previous_temperature": old}
    )


def publish_stage_changed(
    *, lead_id: int, old: str, new: str, actor_id: int | None
) -> Event | None:
    def extra() -> dict[str, Any]:
        actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
        return {
            "old_stage": old,
            "new_stage": new,
            "changed_by": getattr(actor, "email", None) or None,
        }

    return _announce(EventType.LEAD_STAGE_CHANGED, lead_id=lead_id, extra=extra)


def publish_booking_created(*, lead_id: int, booking_id: int) -> Event | None:
    return _announce(
        EventType.BOOKING_CREATED,
        lead_id=lead_id,
        extra=lambda: {"booking": payloads.booking_data(payloads.load_booking(booking_id))},
    )


def publish_lead_unsubscribed(*, lead_id: int) -> Event | None:
    return _announce(EventType.LEAD_UNSUBSCRIBED, lead_id=lead_id, extra=dict)


def publish_task_created(*, lead_id: int, task_id: int) -> Event | None:
    return _announce(
        EventType.TASK_CREATED,
        lead_id=lead_id,
        extra=lambda: {"task": payloads.task_data(payloads.load_task(task_id))},
    )


def publish_journey_entered(*, enrollment_id: int, lead_id: int) -> Event | None:
    return _announce(
        EventType.JOURNEY_ENTERED,
        lead_id=lead_id,
        extra=lambda: payloads.journey_data(payloads.load_enrollment(enrollment_id)),
    )


def publish_journeys_entered(*, entries: Sequence[tuple[int, int]]) -> int:
    """journey.entered for each of many leads (an import), reading the endpoints once."""
    try:
        if not subscribed_endpoint_ids(event_type=EventType.JOURNEY_ENTERED):
            return 0
    except Exception:
        logger.exception("Could not read the webhook endpoints for %s entries", len(entries))
        return 0
    published = 0
    for enrollment_id, lead_id in entries:
        published += (
            publish_journey_entered(enrollment_id=enrollment_id, lead_id=lead_id) is not None
        )
    return published


def publish_journey_converted(*, enrollment_id: int, lead_id: int, goal: str) -> Event | None:
    def extra() -> dict[str, Any]:
        data = payloads.journey_data(payloads.load_enrollment(enrollment_id))
        return {**data, "goal": goal}

    return _announce(EventType.JOURNEY_CONVERTED, lead_id=lead_id, extra=extra)


def send_test_event(*, endpoint_ids: Sequence[int]) -> Event:
    """A `webhook.test` event to these endpoints, whatever they subscribe to."""
    payload = {"message": "A test from leadfunnel: your endpoint receives signed events."}
    return _create(event_type=EventType.TEST, payload=payload, endpoint_ids=list(endpoint_ids))


def _announce(
    event_type: str, *, lead_id: int, extra: Callable[[], dict[str, Any]]
) -> Event | None:
    """Publish a lead's event for a receiver. Never raises: it runs in the on-commit work of
    a capture, a booking or an unsubscribe, which a webhook problem must not break."""
    try:
        endpoint_ids = subscribed_endpoint_ids(event_type=event_type)
        if not endpoint_ids:
            return None  # nobody listens: do not even load the lead
        lead = payloads.load_lead(lead_id)
        payload = {"lead": payloads.lead_data(lead), **extra()}
        return _create(event_type=event_type, payload=payload, endpoint_ids=endpoint_ids)
    except Exception:
        logger.exception("Could not publish %s for lead %s", event_type, lead_id)
        return None


def _create(*, event_type: str, payload: dict[str, Any], endpoint_ids: list[int]) -> Event:
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(type=event_type, payload=payload, created_at=now)
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(endpoint_id=endpoint_id, event=event, next_attempt_at=now)
            for endpoint_id in endpoint_ids
        )
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: hand_out(delivery_ids=ids))
    return event


# Handing out -----------------------------------------------------------------------------


def hand_out(*, delivery_ids: Sequence[int]) -> int:
    """Queue a task per pending delivery; with the broker down they stay pending for beat.

    Rows go pending → queued before their message is sent, so beat does not hand them out a
    second time while the message waits in the broker (a lease: see `hand_out_due`).
    """
    ids = list(delivery_ids)
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=Status.QUEUED, next_attempt_at=now + _lease()
    )
    return _send_messages(delivery_ids=ids, now=now)


def hand_out_due(*, now: datetime | None = None) -> int:
    """Beat's tick: hand out what is due (retries, pending rows the broker never got, rows
    whose queued or sending lease ran out). Returns how many were due."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                status__in=WebhookDelivery.OPEN, next_attempt_at__lte=now
            )
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[: settings.WEBHOOKS_RETRY_BATCH]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.QUEUED, next_attempt_at=now + _lease()
        )
    _send_messages(delivery_ids=ids, now=now)
    return len(ids)


def _send_messages(*, delivery_ids: list[int], now: datetime) -> int:
    """One "deliver N now" message per queued row; what the broker refuses goes back to
    pending at once, so beat's next tick tries again instead of waiting out the lease."""
    sent = queueing.deliver_soon(delivery_ids=delivery_ids)
    if sent < len(delivery_ids):
        WebhookDelivery.objects.filter(pk__in=delivery_ids[sent:], status=Status.QUEUED).update(
            status=Status.PENDING, next_attempt_at=now
        )
    return sent


def replay_deliveries(*, delivery_ids: Sequence[int]) -> int:
    """Send these deliveries again now, whatever their state, with a fresh set of attempts.

    The body is the stored event's, so the receiver sees the same event id again.
    """
    ids = list(delivery_ids)
    with transaction.atomic():
        replayed = WebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None
        )
        transaction.on_commit(lambda: hand_out(delivery_ids=ids))
    return replayed


def replay_delivery(*, delivery_id: int) -> bool:
    return replay_deliveries(delivery_ids=[delivery_id]) == 1


def rotate_secret(*, endpoint_id: int) -> str:
    """A new signing secret, in force from the next delivery on."""
    secret = new_secret()
    Endpoint.objects.filter(pk=endpoint_id).update(secret=secret)
    return secret


# Delivering ------------------------------------------------------------------------------


def deliver_webhook(*, delivery_id: int) -> str:
    """Claim the delivery, POST it signed (outside any transaction), record the outcome.

    Returns what happened: "succeeded", "retrying", "failed" or "skipped" (nothing to claim:
    another worker has it, it is done, or it is not due).
    """
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(
        status__in=(Status.PENDING, Status.RETRYING, Status.SENDING), next_attempt_at__lte=now
    )
    claimed = WebhookDelivery.objects.filter(claimable, pk=delivery_id).update(
        status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + _lease()
    )
    if claimed != 1:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active and event.type != EventType.TEST:
        outcome = http.Outcome(error="The endpoint is switched off.")
        return _record(delivery=delivery, outcome=outcome, give_up=True)
    body = event_body(event)
    timestamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Leadfunnel-Event": event.type,
        "X-Leadfunnel-Delivery": str(delivery.pk),
        "X-Leadfunnel-Attempt": str(delivery.attempts),
        "X-Leadfunnel-Timestamp": str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature_header(
            secret=endpoint.secret, timestamp=timestamp, body=body
        ),
    }
    outcome = http.post(
        url=endpoint.url, body=body, headers=headers, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS
    )
    return _record(delivery=delivery, outcome=outcome)


def event_body(event: Event) -> bytes:
    """The exact bytes POSTed and signed."""
    created_at = event.created_at.isoformat().replace("+00:00", "Z")
    body = {
        "id": str(event.id),
        "type": event.type,
        "created_at": created_at,
        "data": event.payload,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def retry_wait(*, attempts: int, draw: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure: the one backoff (doubling, capped,
    0–20 % jitter) with webhooks' base and cap."""
    return backoff.backoff_seconds(
        attempts=attempts,
        base=settings.WEBHOOKS_RETRY_BASE_SECONDS,
        cap=settings.WEBHOOKS_RETRY_MAX_SECONDS,
        draw=draw,
    )


def _record(*, delivery: WebhookDelivery, outcome: http.Outcome, give_up: bool = False) -> str:
    now = timezone.now()
    attempt = delivery.attempts
    fields: dict[str, Any] = {
        "last_status_code": outcome.status_code,
        "last_response_ms": outcome.response_ms,
        "last_response": outcome.response[:ERROR_CHARS],
        "last_error": outcome.error[:ERROR_CHARS],
    }
    if outcome.ok:
        fields.update(status=Status.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    elif give_up or attempt >= settings.WEBHOOKS_MAX_ATTEMPTS:
        reason = f"{outcome.error} Gave up after {attempt} attempt{'s' * (attempt != 1)}."
        fields.update(
            status=Status.FAILED, next_attempt_at=None, last_error=reason.strip()[:ERROR_CHARS]
        )
    else:
        wait = timedelta(seconds=retry_wait(attempts=attempt))
        fields.update(status=Status.RETRYING, next_attempt_at=now + wait)
    # Only while still ours: a replay or a reclaim after the lease took the row meanwhile.
    if not WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.SENDING, attempts=attempt
    ).update(**fields):
        logger.info("Webhook delivery %s changed hands while sending; result dropped", delivery.pk)
        return "skipped"
    return str(fields["status"])


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
