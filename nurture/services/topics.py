"""Subscription topics: changing what a lead chose, each change in the consent log (the
reads, and the sender's check, are nurture.topic_selectors).

A global unsubscribe is the suppression list, as before topics: it overrides every topic,
and only an explicit "email me again" lifts it. Each change takes the lead's row lock first,
so two changes of one lead (a one-click POST and the preference page at once) queue up, and
each is logged exactly once.
"""

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from django import forms
from django.db import transaction
from django.utils import timezone

from capture.models import Activity, Lead, Submission
from capture.services import record_activity
from nurture.models import (
    ConsentRecord,
    Delivery,
    Enrollment,
    SubscriptionTopic,
    Suppression,
    TopicSubscription,
)
from nurture.services import engagement
from nurture.services.exiting import LIVE_STATES, exit_enrollments
from nurture.topic_selectors import is_subscribed

# A form's checkbox for topic `slug` is the field `topic_<slug>` (see topic_form_fields).
FORM_FIELD_PREFIX = "topic_"


class TopicRefused(Exception):
    """The change cannot be made; the message says why, for the person asking (a 400)."""


def leave_topic(
    *,
    lead_id: int,
    topic_id: int,
    source: str,
    ip_hash: str = "",
    delivery_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """The lead leaves one topic: logged, and its journeys of that topic end (as a global
    unsubscribe ends them all). False when it had left already (nothing is written)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        topic = SubscriptionTopic.objects.get(pk=topic_id)
        if not _set_status(
            lead=lead,
            topic=topic,
            subscribed=False,
            source=source,
            ip_hash=ip_hash,
            now=now,
            detail=_from_email(delivery_id),
        ):
            return False
        _end_topic_journeys(lead_id=lead.pk, topic_id=topic.pk)
        # An unsubscribe activity, as a global one records: the step's figures count it.
        record_activity(
            lead=lead,
            kind=Activity.Kind.UNSUBSCRIBED,
            occurred_at=now,
            metadata={"delivery_id": delivery_id, "topic": topic.slug},
        )
    return True


def unsubscribe_from_everything(
    *, lead_id: int, source: str, ip_hash: str = "", delivery_id: int | None = None
) -> bool:
    """Every email stops (the suppression list, as before topics); False if it had."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if Suppression.objects.filter(email=lead.email).exists():
            return False
        engagement.unsubscribe(lead_id=lead.pk, delivery_id=delivery_id)
        ConsentRecord.objects.create(
            lead=lead,
            topic=None,
            action=ConsentRecord.Action.UNSUBSCRIBE,
            source=source,
            ip_hash=ip_hash,
            detail=_from_email(delivery_id),
            recorded_at=timezone.now(),
        )
    return True


def save_preferences(
    *,
    lead_id: int,
    subscribed: Collection[int],
    resume: bool = False,
    source: str = ConsentRecord.Source.PREFERENCES,
    ip_hash: str = "",
    now: datetime | None = None,
) -> list[ConsentRecord]:
    """The preference page's choice: be subscribed to exactly the topics `subscribed`.

    After a global unsubscribe nothing is subscribed without `resume` (the prospect ticked
    "email me again"), which lifts the suppression and is logged as its own opt-in; a bounce
    or a complaint is never lifted here. Returns the records written (none: no change).
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        topics = list(SubscriptionTopic.objects.all())
        wanted = set(subscribed)
        unknown = wanted - {topic.pk for topic in topics}
        if unknown:
            raise TopicRefused("One of the topics chosen does not exist any more.")
        written: list[ConsentRecord] = []
        suppression = Suppression.objects.filter(email=lead.email).first()
        if suppression is not None and (wanted or resume):
            if suppression.reason != Suppression.Reason.UNSUBSCRIBED:
                raise TopicRefused(
                    "We cannot email this address any more (our emails to it bounced or were "
                    "reported). Write to us if you want to hear from us again."
                )
            if not resume:
                raise TopicRefused(
                    "You unsubscribed from all our emails. To hear from us again, tick “Email "
                    "me again” as well as the topics you want."
                )
            suppression.delete()
            written.append(
                ConsentRecord.objects.create(
                    lead=lead,
                    topic=None,
                    action=ConsentRecord.Action.SUBSCRIBE,
                    source=source,
                    ip_hash=ip_hash,
                    detail="Asked to be emailed again",
                    recorded_at=now,
                )
            )
        for topic in topics:
            record = _set_status(
                lead=lead,
                topic=topic,
                subscribed=topic.pk in wanted,
                source=source,
                ip_hash=ip_hash,
                now=now,
                consent_text=topic.preference_label,
            )
            if record is not None:
                written.append(record)
                if topic.pk not in wanted:
                    _end_topic_journeys(lead_id=lead.pk, topic_id=topic.pk)
    return written


def record_topic_opt_ins(
    *,
    lead: Lead,
    topics: Iterable[SubscriptionTopic],
    source: str,
    consent_texts: Mapping[int, str] | None = None,
    ip_hash: str = "",
    now: datetime | None = None,
) -> list[ConsentRecord]:
    """The lead ticked these topics' boxes (a form, an import, the API): subscribed, with the
    words it agreed to (`consent_texts` by topic id; the topic's form label otherwise).

    A global unsubscribe stays in force: ticking a newsletter box on a form is consent to
    the newsletter, not a request to lift "no emails at all" (only the preference page's
    "email me again" does that). The opt-in is logged and counts once that is lifted.
    """
    now = now or timezone.now()
    texts = consent_texts or {}
    written = []
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        for topic in topics:
            record = _set_status(
                lead=locked,
                topic=topic,
                subscribed=True,
                source=source,
                ip_hash=ip_hash,
                now=now,
                consent_text=texts.get(topic.pk, topic.form_label),
                explicit=True,
            )
            if record is not None:
                written.append(record)
    return written


def record_form_opt_ins(*, submission_id: int) -> list[ConsentRecord]:
    """A submission's ticked topic boxes (`topic_<slug>` in its data), for the page's topics.

    Only the lead's own submission (`Submission.proven`: it created the lead, or the browser
    proved it is that lead) opts in. Anyone can type a known address, and a stranger's tick
    would otherwise resubscribe a topic the lead left, logged as the lead's own consent; the
    lead opts in from the preference page or on a visit of its own.
    """
    submission = Submission.objects.select_related("lead").filter(pk=submission_id).first()
    if submission is None or not submission.proven:
        return []
    ticked = {
        key.removeprefix(FORM_FIELD_PREFIX)
        for key, value in (submission.data or {}).items()
        if key.startswith(FORM_FIELD_PREFIX) and value is True
    }
    if not ticked:
        return []
    topics = SubscriptionTopic.objects.filter(
        landing_pages=submission.landing_page_id, slug__in=ticked
    )
    return record_topic_opt_ins(
        lead=submission.lead,
        topics=topics,
        source=ConsentRecord.Source.FORM,
        ip_hash=submission.ip_hash,
        now=submission.created_at,
    )


def topic_form_fields(*, landing_page_id: int) -> dict[str, forms.Field]:
    """The checkboxes a landing page's form adds for its topics: unticked, optional, labelled
    with the topic's consent text (what the lead agrees to, logged with the opt-in)."""
    return {
        f"{FORM_FIELD_PREFIX}{topic.slug}": forms.BooleanField(
            label=topic.form_label,
            required=False,
            initial=False,
        )
        for topic in SubscriptionTopic.objects.filter(landing_pages=landing_page_id)
    }


def _set_status(
    *,
    lead: Lead,
    topic: SubscriptionTopic,
    subscribed: bool,
    source: str,
    ip_hash: str,
    now: datetime,
    consent_text: str = "",
    detail: str = "",
    explicit: bool = False,
) -> ConsentRecord | None:
    """Write the lead's state for the topic and log it, if it changes; the caller holds the
    lead's row lock, so this read-then-write cannot race another change of the lead."""
    row = TopicSubscription.objects.filter(lead=lead, topic=topic).first()
    Status = TopicSubscription.Status
    status = Status.SUBSCRIBED if subscribed else Status.UNSUBSCRIBED
    if row is not None and row.status == status:
        return None
    # No row and already in that state by the topic's default: the preference page changes
    # nothing; a ticked box (explicit) is still an opt-in worth its record.
    if row is None and is_subscribed(topic=topic, status=None) == subscribed and not explicit:
        return None
    if row is None:
        TopicSubscription.objects.create(lead=lead, topic=topic, status=status, changed_at=now)
    else:
        TopicSubscription.objects.filter(pk=row.pk).update(status=status, changed_at=now)
    return ConsentRecord.objects.create(
        lead=lead,
        topic=topic,
        action=ConsentRecord.Action.SUBSCRIBE if subscribed else ConsentRecord.Action.UNSUBSCRIBE,
        source=source,
        consent_text=consent_text if subscribed else "",
        detail=detail[:300],
        ip_hash=ip_hash,
        recorded_at=now,
    )


def _end_topic_journeys(*, lead_id: int, topic_id: int) -> None:
    """The lead's live journeys and day lists of the topic end, as "unsubscribed"."""
    live = Enrollment.objects.filter(
        lead_id=lead_id, state__in=LIVE_STATES, sequence__topic=topic_id
    )
    for sequence_id in live.values_list("sequence_id", flat=True):
        exit_enrollments(
            lead_id=lead_id, reason=Enrollment.ExitReason.UNSUBSCRIBED, sequence_id=sequence_id
        )


def _from_email(delivery_id: int | None) -> str:
    if delivery_id is None:
        return ""
    delivery = Delivery.objects.select_related("step").filter(pk=delivery_id).first()
    return f"From the email “{delivery.step.subject}”"[:300] if delivery is not None else ""
