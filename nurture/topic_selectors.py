"""Reads of topics and consent: the sender's and the enrollment's checks, the preference
page, the lead page and the privacy export (the writes are nurture.services.topics).

A lead's state for a topic is its TopicSubscription row, or without one the topic's default
(subscribed, unless the topic needs an opt-in).
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Subquery

from capture.models import Lead
from nurture.models import (
    ConsentRecord,
    Delivery,
    SubscriptionTopic,
    Suppression,
    TopicSubscription,
)
from nurture.services import exits

CONSENT_LOG_LENGTH = 50


@dataclass(frozen=True)
class TopicState:
    topic: SubscriptionTopic
    subscribed: bool


# Reads --------------------------------------------------------------------------------------


def is_subscribed(*, topic: SubscriptionTopic, status: str | None) -> bool:
    """The lead's state from its row's status (None: no row, the topic's default)."""
    if status is None:
        return not topic.requires_opt_in
    return status == TopicSubscription.Status.SUBSCRIBED


def topic_states(*, lead: Lead) -> list[TopicState]:
    """Every topic, in page order, with the lead's own state for it (not the suppression);
    one query, the lead's row for each topic read alongside it."""
    rows = SubscriptionTopic.objects.annotate(
        status=Subquery(
            TopicSubscription.objects.filter(lead=lead, topic=OuterRef("pk")).values("status")[:1]
        )
    )
    return [
        TopicState(topic=topic, subscribed=is_subscribed(topic=topic, status=topic.status))
        for topic in rows
    ]


def blocked_topics(*, pairs: Collection[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The (lead id, topic id) pairs among `pairs` whose marketing email must not go, with
    the topic's name: the lead left the topic, or it needs an opt-in the lead never gave.

    Two queries for any number of pairs, so a send batch reads it once (like suppression).
    """
    if not pairs:
        return {}
    lead_ids = {lead_id for lead_id, _ in pairs}
    topics = {
        pk: (name, requires_opt_in)
        for pk, name, requires_opt_in in SubscriptionTopic.objects.filter(
            pk__in={topic_id for _, topic_id in pairs}
        ).values_list("pk", "name", "requires_opt_in")
    }
    statuses = {
        (lead_id, topic_id): status
        for lead_id, topic_id, status in TopicSubscription.objects.filter(
            lead_id__in=lead_ids, topic_id__in=topics.keys()
        ).values_list("lead_id", "topic_id", "status")
    }
    left = TopicSubscription.Status.UNSUBSCRIBED
    return {
        pair: topics[pair[1]][0]
        for pair in pairs
        if pair[1] in topics
        and (statuses.get(pair) == left or (pair not in statuses and topics[pair[1]][1]))
    }


def batch_topic_holds(*, deliveries: Iterable[Delivery]) -> dict[tuple[int, int], str]:
    """`blocked_topics` for a send batch's marketing emails (loaded with their sequence)."""
    pairs = {
        (delivery.enrollment.lead_id, topic_id)
        for delivery in deliveries
        if not exits.is_confirmation(delivery.step)
        and (topic_id := delivery.enrollment.sequence.topic_id) is not None
    }
    return blocked_topics(pairs=pairs)


def topic_hold_reason(delivery: Delivery, *, blocked: Mapping[tuple[int, int], str]) -> str | None:
    """Why this delivery is held for its topic, else None. Transactional email never is."""
    enrollment = delivery.enrollment
    if exits.is_confirmation(delivery.step):
        return None
    topic_id = enrollment.sequence.topic_id
    if topic_id is None:
        return None
    name = blocked.get((enrollment.lead_id, topic_id))
    return f"not subscribed to the topic “{name}”" if name is not None else None


def topic_blocks(*, lead_id: int, topic_id: int | None) -> bool:
    """One lead and topic: enrollment's check (a day list then schedules its Day 1 only).
    A sequence without a topic blocks nobody."""
    return topic_id is not None and bool(blocked_topics(pairs={(lead_id, topic_id)}))


@dataclass(frozen=True)
class Preferences:
    """What the preference page shows one lead."""

    lead: Lead
    topics: list[TopicState]
    # The topic of the email whose link was followed, when the link names one.
    email_topic: SubscriptionTopic | None
    # Set when every email is stopped: "unsubscribed" (the lead asked) or a bounce's reason.
    suppressed: str | None

    @property
    def can_resume(self) -> bool:
        return self.suppressed == Suppression.Reason.UNSUBSCRIBED


def topic_of_delivery(*, delivery_id: int | None, lead_id: int) -> SubscriptionTopic | None:
    """The topic of the email a link came in (only the lead's own email)."""
    if delivery_id is None:
        return None
    delivery = (
        Delivery.objects.select_related("enrollment__sequence__topic")
        .filter(pk=delivery_id, enrollment__lead_id=lead_id)
        .first()
    )
    return delivery.enrollment.sequence.topic if delivery is not None else None


def preferences_for(*, lead: Lead, delivery_id: int | None = None) -> Preferences:
    suppression = Suppression.objects.filter(email=lead.email).first()
    return Preferences(
        lead=lead,
        topics=topic_states(lead=lead),
        email_topic=topic_of_delivery(delivery_id=delivery_id, lead_id=lead.pk),
        suppressed=suppression.reason if suppression is not None else None,
    )


def lead_consent_log(*, lead_id: int, length: int = CONSENT_LOG_LENGTH) -> list[ConsentRecord]:
    """The lead's latest consent changes, newest first (the lead page)."""
    return list(
        ConsentRecord.objects.filter(lead_id=lead_id)
        .select_related("topic")
        .order_by("-recorded_at", "-pk")[:length]
    )


def consent_log_for_export(*, lead_id: int) -> list[dict[str, Any]]:
    """Every consent change of the lead, oldest first, in words (the privacy export)."""
    return [
        {
            "recorded_at": record.recorded_at,
            "topic": record.topic.name if record.topic is not None else "All emails",
            "action": record.action,
            "source": record.get_source_display(),
            "consent_text": record.consent_text,
            "detail": record.detail,
            "ip_hash": record.ip_hash,
        }
        for record in ConsentRecord.objects.filter(lead_id=lead_id)
        .select_related("topic")
        .order_by("recorded_at", "pk")
    ]
