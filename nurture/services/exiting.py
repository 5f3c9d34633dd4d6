"""Ending, pausing and resuming enrollments, and expiring unconfirmed double opt-ins.

Scheduling, triggers, goals and the tick all stop enrollments; kept apart from scheduling
(which enters journeys and hands Day 1 to the dispatcher) so that none of them imports the
others to do it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nurture.models import Delivery, Enrollment
from nurture.services import exits

LIVE_STATES = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)


def exit_enrollments(*, lead_id: int, reason: str, sequence_id: int | None = None) -> int:
    """Stop mailing a lead: its active enrollments end and pending deliveries are cancelled.

    A hand-off to sales leaves a pending Day-1 confirmation to go (see exits).
    """
    now = timezone.now()
    enrollments = Enrollment.objects.filter(lead_id=lead_id, state__in=LIVE_STATES)
    if sequence_id is not None:
        enrollments = enrollments.filter(sequence_id=sequence_id)
    with transaction.atomic():
        ids = list(enrollments.select_for_update().values_list("pk", flat=True))
        pending = Delivery.objects.filter(
            Q(status=Delivery.Status.SCHEDULED) | Q(status=Delivery.Status.QUEUED),
            enrollment_id__in=ids,
        )
        if reason == Enrollment.ExitReason.HANDED_TO_SALES:
            pending = pending.exclude(
                Q(step__day__lte=exits.CONFIRMATION_DAY) | Q(step__transactional=True)
            )
        pending.update(status=Delivery.Status.CANCELLED, status_changed_at=now)
        Enrollment.objects.filter(pk__in=ids).update(
            state=Enrollment.State.EXITED, exit_reason=reason, ended_at=now
        )
    return len(ids)


def hand_to_sales(*, lead_id: int) -> int:
    """Sales has the lead (it turned hot, or a rep took it or was given it): it leaves the
    journeys and sequences set to hand leads to sales, in the caller's transaction when there
    is one, so the lead's page never shows a drip the sender would refuse at send time."""
    count = 0
    for sequence_id in Enrollment.objects.filter(
        lead_id=lead_id, state__in=LIVE_STATES, sequence__hand_hot_leads_to_sales=True
    ).values_list("sequence_id", flat=True):
        count += exit_enrollments(
            lead_id=lead_id, reason=Enrollment.ExitReason.HANDED_TO_SALES, sequence_id=sequence_id
        )
    return count


def expire_unconfirmed(*, now: datetime | None = None) -> int:
    """Leads who never confirmed a double opt-in are never mailed again."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.NURTURE_CONFIRMATION_DAYS)
    expired = Enrollment.objects.filter(
        state=Enrollment.State.ACTIVE,
        needs_confirmation=True,
        confirmed_at__isnull=True,
        started_at__lt=cutoff,
    )
    with transaction.atomic():
        ids = list(expired.select_for_update(skip_locked=True).values_list("pk", flat=True))
        if not ids:
            return 0
        Delivery.objects.filter(enrollment_id__in=ids, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.CANCELLED, status_changed_at=now
        )
        Enrollment.objects.filter(pk__in=ids).update(
            state=Enrollment.State.EXITED,
            exit_reason=Enrollment.ExitReason.UNCONFIRMED,
            ended_at=now,
        )
    return len(ids)


def pause_enrollments(*, lead_id: int, sequence_id: int | None = None) -> int:
    """Hold a lead's emails: nothing goes out until resumed (what fell due goes out then)."""
    enrollments = Enrollment.objects.filter(lead_id=lead_id, state=Enrollment.State.ACTIVE)
    if sequence_id is not None:
        enrollments = enrollments.filter(sequence_id=sequence_id)
    return enrollments.update(state=Enrollment.State.PAUSED)


def resume_enrollments(*, lead_id: int, sequence_id: int | None = None) -> int:
    enrollments = Enrollment.objects.filter(lead_id=lead_id, state=Enrollment.State.PAUSED)
    if sequence_id is not None:
        enrollments = enrollments.filter(sequence_id=sequence_id)
    return enrollments.update(state=Enrollment.State.ACTIVE)
