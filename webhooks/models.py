"""Outbound webhooks: endpoints marketers register, the events we announce, one delivery each.

PostgreSQL is the source of truth for every delivery: the broker only carries "deliver N now",
and beat's `hand_out_due` picks up whatever is due, lost or stuck (DESIGN.md).
"""

import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadfunnel.outbound.safety import validate_webhook_url


class EventType(models.TextChoices):
    LEAD_CREATED = "lead.created", "lead.created: a new lead was captured"
    LEAD_HOT = "lead.hot", "lead.hot: a lead turned hot"
    LEAD_STAGE_CHANGED = "lead.stage_changed", "lead.stage_changed: a lead moved stage"
    BOOKING_CREATED = "booking.created", "booking.created: a prospect booked a consultation"
    LEAD_UNSUBSCRIBED = "lead.unsubscribed", "lead.unsubscribed: a lead unsubscribed"
    TASK_CREATED = "task.created", "task.created: a task for a sales rep was created"
    JOURNEY_ENTERED = "journey.entered", "journey.entered: a lead entered a journey"
    JOURNEY_CONVERTED = "journey.converted", "journey.converted: a lead reached a journey's goal"
    # Sent only by the admin's "send a test event", to the endpoints picked there.
    TEST = "webhook.test", "webhook.test: a test from the admin"


SUBSCRIBABLE = [choice for choice in EventType.choices if choice[0] != EventType.TEST]


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Endpoint(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(
        "URL",
        max_length=500,
        validators=[validate_webhook_url],
        help_text="Where events are POSTed. https:// on a public address.",
    )
    secret = models.CharField(
        max_length=100,
        default=new_secret,
        help_text="Signs every delivery (X-Leadfunnel-Signature). Give it to the receiver.",
    )
    # A list of EventType values: a JSON list rather than an ArrayField so SQLite works too.
    events = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class Event(models.Model):
    """One fact announced once; its id is the `id` in every body that carries it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="webhook_event_created_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # due at next_attempt_at, not handed to a worker yet
        QUEUED = "queued", "Queued"  # handed to the broker; next_attempt_at ends its lease
        SENDING = "sending", "Sending"  # a worker is POSTing it; next_attempt_at ends its lease
        RETRYING = "retrying", "Retrying"  # failed; tried again at next_attempt_at
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # out of attempts (or the endpoint was switched off)

    # The rows beat looks at: waiting, or in flight with a lease that may have run out.
    OPEN = (Status.PENDING, Status.QUEUED, Status.SENDING, Status.RETRYING)

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField("response time (ms)", null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response = models.TextField(blank=True, help_text="The start of the receiver's answer.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        permissions = [("replay_webhookdelivery", "Can replay webhook deliveries")]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            # Beat's query: open rows whose time has come (small: finished rows are left out).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "queued", "sending", "retrying"]),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["-created_at"], name="webhook_delivery_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint}"
