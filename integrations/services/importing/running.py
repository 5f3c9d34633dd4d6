"""The import's run: chunks of CHUNK_ROWS rows, each one transaction that writes its leads
through capture (`import_leads`, whose activities scoring hears of on commit), enters them
in the chosen sequence or journey and the journeys with an import trigger through nurture,
and advances the progress in the same commit."""

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from capture.models import Lead
from capture.services import import_leads
from integrations.models import LeadImport
from integrations.services.importing.rows import (
    FIRST_TOUCH,
    LEAD_COLUMNS,
    RowResult,
    lead_values,
    validated_rows,
)
from nurture.models import Sequence, Suppression
from nurture.services import scheduling, triggers

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
ROW_ERRORS_KEPT = 1000
IMPORTED_EVENT = "lead_imported"


@dataclass
class Totals:
    processed: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    row_errors: list[dict[str, Any]] = field(default_factory=list)


def run_import(*, import_id: int, budget_seconds: float | None = 40.0) -> bool:
    """Process chunks until the file ends or the time budget is spent; True when finished.

    A worker calls this again (a new task) when it returns False, so no task outlives
    Celery's time limits however big the file. A dry run writes no lead.
    """
    started = time.monotonic()
    lead_import = LeadImport.objects.get(pk=import_id)
    if lead_import.status == LeadImport.Status.QUEUED:
        LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.QUEUED).update(
            status=LeadImport.Status.RUNNING, started_at=timezone.now()
        )
        lead_import.refresh_from_db()
    if lead_import.status != LeadImport.Status.RUNNING:
        return True  # finished, failed or reset meanwhile: nothing to do
    try:
        chunks = _chunks(lead_import)
        for position, rows in chunks:
            if not _process_chunk(import_id=import_id, position=position, rows=rows):
                return True  # another worker is on it, or it was stopped
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                return False
    except Exception as error:
        logger.exception("Lead import %s failed", import_id)
        LeadImport.objects.filter(pk=import_id).update(
            status=LeadImport.Status.FAILED,
            failure=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return True
    _finish(import_id=import_id)
    return True


def _chunks(lead_import: LeadImport) -> Iterator[tuple[int, list[RowResult]]]:
    """(rows already processed, the next chunk's rows), from where the import stands.

    Rows before that point are validated again, not written: that rebuilds the set of
    emails seen earlier in the file, which finds duplicates across chunks.
    """
    done = lead_import.processed_rows
    chunk: list[RowResult] = []
    position = done
    for index, row in enumerate(validated_rows(lead_import)):
        if index < done:
            continue
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield position, chunk
            position += len(chunk)
            chunk = []
    if chunk:
        yield position, chunk


def _process_chunk(*, import_id: int, position: int, rows: list[RowResult]) -> bool:
    now = timezone.now()
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().defer("csv_text").get(pk=import_id)
        if lead_import.status != LeadImport.Status.RUNNING or (
            lead_import.processed_rows != position
        ):
            return False
        totals = Totals(processed=len(rows))
        for row in rows:
            if row.errors:
                totals.errors += 1
                totals.row_errors += row.errors
        valid = {row.values["email"]: lead_values(row.values) for row in rows if not row.errors}
        if lead_import.is_dry_run:
            _count_chunk(lead_import=lead_import, valid=valid, totals=totals)
        else:
            _write_chunk(lead_import=lead_import, valid=valid, totals=totals, now=now)
        kept = lead_import.row_errors
        room = ROW_ERRORS_KEPT - len(kept)
        LeadImport.objects.filter(pk=import_id).update(
            processed_rows=F("processed_rows") + totals.processed,
            created_count=F("created_count") + totals.created,
            updated_count=F("updated_count") + totals.updated,
            skipped_count=F("skipped_count") + totals.skipped,
            error_count=F("error_count") + totals.errors,
            row_errors=kept + totals.row_errors[: max(room, 0)],
        )
    return True


def _count_chunk(
    *, lead_import: LeadImport, valid: dict[str, dict[str, Any]], totals: Totals
) -> None:
    existing = {lead.email: lead for lead in Lead.objects.filter(email__in=list(valid))}
    for email, values in valid.items():
        lead = existing.get(email)
        if lead is None:
            totals.created += 1
        elif _merge(lead=lead, values=values, lead_import=lead_import, now=timezone.now()):
            totals.updated += 1
        else:
            totals.skipped += 1


def _write_chunk(
    *, lead_import: LeadImport, valid: dict[str, dict[str, Any]], totals: Totals, now: datetime
) -> None:
    """Leads and their activity through capture; enrollment through nurture, in day lists
    (`enroll_leads`) and journeys (its set-based import trigger)."""
    imported = import_leads(
        rows=valid,
        merge=lambda lead, values: _merge(
            lead=lead, values=values, lead_import=lead_import, now=now
        ),
        columns=LEAD_COLUMNS,
        consent_text=lead_import.consent_text,
        activity={"name": IMPORTED_EVENT, "import_id": lead_import.pk},
        now=now,
    )
    totals.created += len(imported.created)
    totals.updated += len(imported.changed)
    totals.skipped += len(imported.existing) - len(imported.changed)
    every = imported.created + [(lead.pk, lead.email, lead.time_zone) for lead in imported.existing]
    target = lead_import.sequence
    if target is not None and target.kind != Sequence.Kind.JOURNEY:
        scheduling.enroll_leads(
            lead_ids=[lead_id for lead_id, _, _ in every], sequence=target, now=now
        )
    # The journey the marketer picked, and every live journey with a CSV-import trigger.
    journeys = {journey.pk: journey for journey in triggers.journeys_triggered_by_import()}
    if target is not None and target.kind == Sequence.Kind.JOURNEY:
        journeys.setdefault(target.pk, target)
    for journey in journeys.values():
        _enter_journey(leads=every, journey=journey, lead_import=lead_import, now=now)


def _merge(
    *, lead: Lead, values: Mapping[str, Any], lead_import: LeadImport, now: datetime
) -> bool:
    """Apply the dedupe policy to an existing lead in memory (`values`: its row's Lead
    attributes); True if anything changed."""
    policy = lead_import.dedupe
    if policy == LeadImport.Dedupe.SKIP:
        return False
    changed = False
    for name, value in values.items():
        current = getattr(lead, name)
        empty = current in ("", None)
        # Attribution is first touch, as on capture: filled where empty, never replaced.
        overwrite = policy == LeadImport.Dedupe.OVERWRITE and name not in FIRST_TOUCH
        if current != value and (empty or overwrite):
            setattr(lead, name, value)
            changed = True
    # The file vouches for consent: record it where none is stored, or anew on overwrite.
    if lead.consent_given_at is None or policy == LeadImport.Dedupe.OVERWRITE:
        lead.consent_given_at, lead.consent_text = now, lead_import.consent_text
        changed = True
    if changed:
        lead.updated_at = now
    return changed


def _enter_journey(
    *,
    leads: list[tuple[int, str, str]],
    journey: Sequence,
    lead_import: LeadImport,
    now: datetime,
) -> None:
    """The chunk's leads enter the journey at its start node, set-based, by its re-entry
    rule; suppressed addresses stay out, as in a day list. A journey paused since the
    mapping was saved takes no one: the leads are imported all the same."""
    emails = [email for _id, email, _zone in leads]
    suppressed = set(Suppression.objects.filter(email__in=emails).values_list("email", flat=True))
    try:
        triggers.enter_journey_in_bulk(
            journey=journey,
            lead_ids=[lead_id for lead_id, email, _zone in leads if email not in suppressed],
            trigger=f"CSV import: {lead_import.file_name}",
            now=now,
        )
    except triggers.JourneyRefused as refused:
        logger.warning("Import %s: %s", lead_import.pk, refused)


def _finish(*, import_id: int) -> None:
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().defer("csv_text").get(pk=import_id)
        if lead_import.status != LeadImport.Status.RUNNING:
            return
        if lead_import.is_dry_run:
            lead_import.status = LeadImport.Status.DRY_RUN
            lead_import.save(update_fields=["status"])
            return
        # The leads hold the data now; the file's copy of it would outlive an erasure.
        LeadImport.objects.filter(pk=import_id).update(
            status=LeadImport.Status.DONE, finished_at=timezone.now(), csv_text=""
        )


def reset_progress(lead_import: LeadImport, *, status: str, dry_run: bool) -> None:
    lead_import.status = status
    lead_import.is_dry_run = dry_run
    lead_import.processed_rows = 0
    lead_import.created_count = lead_import.updated_count = 0
    lead_import.skipped_count = lead_import.error_count = 0
    lead_import.row_errors = []
    lead_import.failure = ""
    lead_import.started_at = timezone.now()
    lead_import.finished_at = None
    lead_import.save(
        update_fields=[
            "status",
            "is_dry_run",
            "processed_rows",
            "created_count",
            "updated_count",
            "skipped_count",
            "error_count",
            "row_errors",
            "failure",
            "started_at",
            "finished_at",
        ]
    )
