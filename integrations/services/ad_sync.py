"""Keep a segment's members in an ad platform's audience: add who joined, remove who left.

What the platform holds is recorded per sync (`AudienceMember`: the lead and the hashes sent),
so each run sends only the difference, and a lead who leaves the segment, withdraws consent,
is suppressed, erased, or changes address is removed by the very hashes that were added.
The difference is a merge of two lists read in lead-id order a page at a time, so memory
stays flat at a million members. Each batch is recorded right after the platform accepts it:
a run that fails half-way is logged as failed, and the next run sends only what is still
missing (both platforms treat a repeated row as one).
"""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from capture.models import Lead
from integrations.models import AudienceMember, AudienceSync, AudienceSyncRun
from integrations.selectors import keyset_rows
from integrations.services.ad_platforms import AdPlatformError, AudienceClient, Hashes, client_for
from integrations.services.privacy import ERASED_DOMAIN
from nurture.models import Suppression

logger = logging.getLogger(__name__)
PAGE = 5_000


def sync_audience(
    *, sync_id: int, trigger: str = "schedule", client: AudienceClient | None = None
) -> AudienceSyncRun:
    """One run of one sync; returns its log row (status done or failed, with counts)."""
    sync = AudienceSync.objects.select_related("segment").get(pk=sync_id)
    now = timezone.now()
    run = AudienceSyncRun.objects.create(sync=sync, trigger=trigger, started_at=now)
    try:
        platform = client or client_for(sync.platform)
        if not sync.audience_id:
            sync.audience_id = platform.create_audience(
                name=f"leadfunnel: {sync.segment.name}"[:100],
                description=f"Segment {sync.segment.name!r}, kept in step by leadfunnel.",
            )
            sync.save(update_fields=["audience_id"])
        _send_difference(sync=sync, run=run, platform=platform, now=now)
        run.status = AudienceSyncRun.Status.DONE
    except AdPlatformError as error:
        run.status, run.error = AudienceSyncRun.Status.FAILED, str(error)[:2000]
        logger.warning("audience sync %s failed: %s", sync.pk, error)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "added", "removed"])
    AudienceSync.objects.filter(pk=sync.pk).update(last_synced_at=run.finished_at)
    return run


def sync_due(*, trigger: str = "schedule") -> int:
    """Every enabled sync, one after another (the beat's task); returns how many ran."""
    ids = list(AudienceSync.objects.filter(enabled=True).values_list("pk", flat=True))
    for sync_id in ids:
        sync_audience(sync_id=sync_id, trigger=trigger)
    return len(ids)


def wanted_leads(sync: AudienceSync) -> QuerySet[Lead]:
    """The segment's members the platform may have: not erased, not suppressed, and with
    marketing consent when the sync asks for it."""
    leads = Lead.objects.filter(segment_memberships__segment_id=sync.segment_id).exclude(
        email__endswith="@" + ERASED_DOMAIN
    )
    leads = leads.exclude(Exists(Suppression.objects.filter(email=OuterRef("email"))))
    if sync.consented_only:
        leads = leads.filter(consent_given_at__isnull=False)
    return leads


def _wanted(sync: AudienceSync, platform: AudienceClient) -> Iterator[tuple[int, Hashes]]:
    for pk, email, phone in keyset_rows(
        wanted_leads(sync), key="pk", fields=["email", "phone"], page=PAGE
    ):
        yield pk, platform.hashes(email=email, phone=phone)


def _held(sync: AudienceSync) -> Iterator[tuple[int, Hashes]]:
    held = AudienceMember.objects.filter(sync=sync)
    for lead_id, email_hash, phone_hash in keyset_rows(
        held, key="lead_id", fields=["email_hash", "phone_hash"], page=PAGE
    ):
        yield lead_id, Hashes(email=email_hash, phone=phone_hash)


class _Batches:
    """Rows to add and to remove, sent and recorded a platform batch at a time."""

    def __init__(
        self, *, sync: AudienceSync, run: AudienceSyncRun, platform: AudienceClient, now: datetime
    ) -> None:
        self.sync, self.run, self.platform, self.now = sync, run, platform, now
        self.size = getattr(platform, "batch", 10_000)
        self.adding: list[tuple[int, Hashes]] = []
        self.removing: list[tuple[int, Hashes]] = []
        self.begun = False

    def _begin(self) -> None:
        if not self.begun:
            self.platform.begin(
                audience_id=self.sync.audience_id, consented=self.sync.consented_only
            )
            self.begun = True

    def add(self, lead_id: int, hashes: Hashes) -> None:
        self.adding.append((lead_id, hashes))
        if len(self.adding) >= self.size:
            self.flush_adds()

    def remove(self, lead_id: int, hashes: Hashes) -> None:
        self.removing.append((lead_id, hashes))
        if len(self.removing) >= self.size:
            self.flush_removals()

    def flush_removals(self) -> None:
        if not self.removing:
            return
        self._begin()
        self.platform.remove([hashes for _, hashes in self.removing])
        AudienceMember.objects.filter(
            sync=self.sync, lead_id__in=[lead_id for lead_id, _ in self.removing]
        ).delete()
        self.run.removed += len(self.removing)
        self.removing = []

    def flush_adds(self) -> None:
        if not self.adding:
            return
        self.flush_removals()  # a changed address: its old hashes go before the new arrive
        self._begin()
        self.platform.add([hashes for _, hashes in self.adding])
        with transaction.atomic():
            AudienceMember.objects.bulk_create(
                [
                    AudienceMember(
                        sync=self.sync,
                        lead_id=lead_id,
                        email_hash=h.email,
                        phone_hash=h.phone,
                        uploaded_at=self.now,
                    )
                    for lead_id, h in self.adding
                ],
                update_conflicts=True,
                unique_fields=["sync", "lead_id"],
                update_fields=["email_hash", "phone_hash", "uploaded_at"],
            )
        self.run.added += len(self.adding)
        self.adding = []

    def finish(self) -> None:
        self.flush_removals()
        self.flush_adds()
        if self.begun:
            self.platform.finish()


def _send_difference(
    *, sync: AudienceSync, run: AudienceSyncRun, platform: AudienceClient, now: datetime
) -> None:
    batches = _Batches(sync=sync, run=run, platform=platform, now=now)
    wanted, held = _wanted(sync, platform), _held(sync)
    want, have = next(wanted, None), next(held, None)
    while want is not None or have is not None:
        if have is None or (want is not None and want[0] < have[0]):
            batches.add(*want)  # type: ignore[misc]
            want = next(wanted, None)
        elif want is None or have[0] < want[0]:
            batches.remove(*have)
            have = next(held, None)
        else:
            if want[1] != have[1]:  # the lead's address or phone changed
                batches.remove(*have)
                batches.add(*want)
            want, have = next(wanted, None), next(held, None)
    batches.finish()
