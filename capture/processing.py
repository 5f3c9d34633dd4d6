"""The capture outbox: a submission is stored by the request, announced by a worker.

The landing page's POST writes the lead, the submission and its activity in one transaction
and answers; what follows (scoring, enrollment and the Day-1 email, journeys, webhooks: the
receivers of `lead_captured`) runs in the worker the request wakes on commit
(`capture.tasks.process_submission`). The submission row is the durable outbox: until a
worker has announced it, `processed_at` is empty, and the tick (`process_pending`, on the
beat) picks it up, so a broker outage delays an enrollment, never drops it.

Exactly once: the announcement and the `processed_at` stamp commit together, under a lock on
the row taken with SKIP LOCKED, so a task and the tick never both announce one submission;
a receiver that fails rolls the announcement back and counts an attempt. After
MAX_ATTEMPTS the tick stops trying that one (it is logged each time).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from capture.models import Lead, Submission
from capture.signals import lead_captured

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def process_submission(*, submission_id: int) -> bool:
    """Announce one stored submission if nobody has; True when this call did."""
    try:
        with transaction.atomic():
            row = (
                Submission.objects.select_for_update(skip_locked=True)
                .filter(pk=submission_id, processed_at__isnull=True)
                .values("lead_id", "landing_page_id", "created_lead")
                .first()
            )
            if row is None:
                return False
            Submission.objects.filter(pk=submission_id).update(processed_at=timezone.now())
            # Not leadfunnel.announce, on purpose (its docstring names this one exception):
            # a plain send inside the stamp's transaction, so a receiver that raises rolls
            # the stamp back with the receivers' writes and the tick announces it again.
            lead_captured.send(
                sender=Lead,
                lead_id=row["lead_id"],
                submission_id=submission_id,
                landing_page_id=row["landing_page_id"],
                created=row["created_lead"],
            )
        return True
    except Exception:
        logger.exception("Announcing submission %s failed; the tick tries again", submission_id)
        Submission.objects.filter(pk=submission_id, processed_at__isnull=True).update(
            process_attempts=F("process_attempts") + 1
        )
        return False


def pending_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Submissions not announced after the grace period (their task was lost or failed)."""
    grace = timedelta(seconds=settings.CAPTURE_OUTBOX_GRACE_SECONDS)
    cutoff = (now or timezone.now()) - grace
    return list(
        Submission.objects.filter(
            processed_at__isnull=True, created_at__lte=cutoff, process_attempts__lt=MAX_ATTEMPTS
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def process_pending(*, now: datetime | None = None, limit: int = 500) -> int:
    """The tick: announce what the broker never delivered; returns how many this run did."""
    return sum(process_submission(submission_id=pk) for pk in pending_ids(now=now, limit=limit))
