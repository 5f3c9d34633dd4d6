"""CSV import of leads: upload, map columns, dry run, then import in chunks in a worker.

Each chunk of CHUNK_ROWS rows is one transaction that upserts its leads by normalised
email (INSERT … ON CONFLICT DO NOTHING, then the rows locked and merged per the dedupe
policy) and advances the import's progress in the same commit: a worker killed mid-file
resumes after the last committed chunk, and no row is imported twice.
"""

import csv
import io
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_countries import countries

from capture.models import Activity, Campaign, Lead
from capture.services import normalise_email
from capture.validators import normalise_phone, validate_person_name
from integrations.models import LeadImport
from integrations.services.bulk_sql import insert_rows, update_rows
from nurture.models import Delivery, Enrollment, Sequence, Suppression
from nurture.services import triggers
from nurture.services.scheduling import compute_due_at, lead_zone
from scoring.models import ScoreChange

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
ROW_ERRORS_KEPT = 1000
# Dry runs of files up to this many rows answer in the request; larger ones run in a worker.
SYNC_DRY_RUN_ROWS = 5000
IMPORTED_EVENT = "lead_imported"

# Lead fields a column may fill, in the mapping page's order.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "company_size": "Company size",
    "industry": "Industry",
    "country": "Country",
    "time_zone": "Time zone",
    "source": "Source (first touch)",
    "campaign": "Campaign (utm_campaign key or name)",
}
# Header spellings seen in CRM and ad-platform exports, normalised (lower case, no spaces,
# underscores or dashes).
_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "workemail"),
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "phone": ("phone", "phonenumber", "telephone", "mobile", "tel"),
    "company": ("company", "companyname", "organisation", "organization", "account"),
    "job_title": ("jobtitle", "title", "position", "role"),
    "company_size": ("companysize", "employees", "size", "headcount"),
    "industry": ("industry", "sector", "vertical"),
    "country": ("country", "countrycode", "nation"),
    "time_zone": ("timezone", "tz", "zone"),
    "source": ("source", "leadsource", "utmsource"),
    "campaign": ("campaign", "utmcampaign", "campaignname"),
}
_GUESSES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


class ImportFileError(ValueError):
    """The upload cannot be imported at all; the message is for the person who sent it."""


@dataclass
class RowResult:
    number: int  # the spreadsheet's row number: the header is row 1
    values: dict[str, Any] = field(default_factory=dict)  # lead field → cleaned value
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Totals:
    processed: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    row_errors: list[dict[str, Any]] = field(default_factory=list)


# Upload and mapping --------------------------------------------------------------------


def create_import(*, file_name: str, raw: bytes, user: AbstractBaseUser) -> LeadImport:
    """Decode, sniff and count an uploaded CSV; raises ImportFileError with the reason."""
    limit = settings.INTEGRATIONS_IMPORT_MAX_BYTES
    if len(raw) > limit:
        raise ImportFileError(f"The file is larger than {limit // 1_000_000} MB.")
    try:
        # utf-8-sig drops the byte-order mark Excel writes in front of "UTF-8 CSV".
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"The file is not UTF-8 text (byte {error.start}). Save it as “CSV UTF-8”."
        ) from None
    if "\x00" in text:
        raise ImportFileError("The file is not a CSV text file.")
    delimiter = _sniff_delimiter(text[:64_000])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ImportFileError("The file is empty: the first row should name the columns.")
        # The mapping page has a select per column: 20,000 columns made a 17 MB page in 26 s.
        # A lead has a dozen fields, so a file this wide is a wrong export, not a real list.
        columns = settings.INTEGRATIONS_IMPORT_MAX_COLUMNS
        if len(header) > columns:
            raise ImportFileError(
                f"The file has {len(header):,} columns; an import takes at most {columns:,}. "
                "Remove the columns you do not need and upload it again."
            )
        total = sum(1 for row in reader if any(cell.strip() for cell in row))
    except csv.Error as error:
        raise ImportFileError(
            f"The CSV is malformed near line {reader.line_num}: {error}"
        ) from None
    if total == 0:
        raise ImportFileError("The file has a header row but no leads.")
    headers = _unique_headers(header)
    return LeadImport.objects.create(
        file_name=file_name[:255],
        csv_text=text,
        delimiter=delimiter,
        headers=headers,
        created_by=user,
        total_rows=total,
        mapping=guess_mapping(headers=headers),
    )


def guess_mapping(*, headers: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for header in headers:
        key = "".join(ch for ch in header.lower() if ch.isalnum())
        guessed = _GUESSES.get(key, "")
        if guessed and guessed not in mapping.values():
            mapping[header] = guessed
    return mapping


def save_mapping(
    *,
    lead_import: LeadImport,
    mapping: Mapping[str, str],
    dedupe: str,
    sequence: Sequence | None,
    consent_text: str,
) -> LeadImport:
    """Store the column mapping and options; the caller's form has checked them."""
    lead_import.mapping = {column: name for column, name in mapping.items() if name}
    lead_import.dedupe = dedupe
    lead_import.sequence = sequence
    lead_import.consent_confirmed = True
    lead_import.consent_text = consent_text
    lead_import.status = LeadImport.Status.MAPPED
    lead_import.save(
        update_fields=["mapping", "dedupe", "sequence", "consent_confirmed", "consent_text",
                       "status"]
    )  # fmt: skip
    return lead_import


def start_run(*, import_id: int, dry_run: bool) -> None:
    """Queue the (dry) run for a worker, once the status change is committed."""
    from integrations import tasks

    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().defer("csv_text").get(pk=import_id)
        if lead_import.in_progress or lead_import.status in (
            LeadImport.Status.UPLOADED,
            LeadImport.Status.DONE,
        ):
            return
        resumable = not (dry_run or lead_import.is_dry_run)
        if lead_import.status == LeadImport.Status.FAILED and resumable:
            # Resume after the last committed chunk: the rows before it are in already.
            lead_import.status, lead_import.failure = LeadImport.Status.QUEUED, ""
            lead_import.save(update_fields=["status", "failure"])
        else:
            _reset(lead_import, status=LeadImport.Status.QUEUED, dry_run=dry_run)
        transaction.on_commit(lambda: tasks.run_import.delay(import_id))


def dry_run_now(*, import_id: int) -> LeadImport:
    """Run the dry run in this process (small files): counts and row errors, no writes."""
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().get(pk=import_id)
        _reset(lead_import, status=LeadImport.Status.RUNNING, dry_run=True)
    run_import(import_id=import_id, budget_seconds=None)
    return LeadImport.objects.get(pk=import_id)


def sample_rows(*, import_id: int, count: int) -> list[list[str]]:
    """The first few rows under the header, shown beside each column on the mapping page."""
    lead_import = LeadImport.objects.only("csv_text", "delimiter").get(pk=import_id)
    reader = csv.reader(
        io.StringIO(lead_import.csv_text[:200_000], newline=""), delimiter=lead_import.delimiter
    )
    rows: list[list[str]] = []
    try:
        next(reader, None)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append([cell[:80] for cell in cells])
            if len(rows) == count:
                break
    except csv.Error:
        pass  # the sample's cut fell inside a quoted value: show what was read
    return rows


# The run ---------------------------------------------------------------------------------


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
    for index, row in enumerate(_validated_rows(lead_import)):
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
        valid = {row.values["email"]: row.values for row in rows if not row.errors}
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
    new_rows = [
        {**_lead_values(values), "stage": Lead.Stage.NEW, "consent_given_at": now,
         "consent_text": lead_import.consent_text, "last_activity_at": now}
        for values in valid.values()
    ]  # fmt: skip
    # ON CONFLICT DO NOTHING, then lock what was there: a lead captured by a form at the
    # same moment ends as one row, merged below like any other existing lead.
    inserted = insert_rows(Lead, new_rows, now=now, ignore_conflicts_on=["email"],
                           returning=["id", "email", "time_zone"])  # fmt: skip
    created_emails = {email for _id, email, _zone in inserted}
    existing = list(
        Lead.objects.select_for_update()
        .filter(email__in=[email for email in valid if email not in created_emails])
        .order_by("pk")
    )
    changed: list[Lead] = []
    for lead in existing:
        if _merge(lead=lead, values=valid[lead.email], lead_import=lead_import, now=now):
            lead.last_activity_at = max(lead.last_activity_at, now)
            changed.append(lead)
    totals.created += len(inserted)
    totals.updated += len(changed)
    totals.skipped += len(existing) - len(changed)
    update_rows(Lead, changed, [*_LEAD_COLUMNS, "consent_given_at", "consent_text",
                                "updated_at", "last_activity_at"])  # fmt: skip
    metadata = {"name": IMPORTED_EVENT, "import_id": lead_import.pk}
    touched = [lead_id for lead_id, _email, _zone in inserted] + [lead.pk for lead in changed]
    insert_rows(Activity, [{"lead_id": lead_id, "kind": Activity.Kind.CUSTOM,
                            "occurred_at": now, "metadata": metadata}
                           for lead_id in touched], now=now)  # fmt: skip
    every = inserted + [(lead.pk, lead.email, lead.time_zone) for lead in existing]
    target = lead_import.sequence
    if target is not None and target.kind != Sequence.Kind.JOURNEY:
        _enroll(leads=every, sequence=target, now=now)
    # The journey the marketer picked, and every live journey with a CSV-import trigger.
    journeys = {journey.pk: journey for journey in triggers.journeys_triggered_by_import()}
    if target is not None and target.kind == Sequence.Kind.JOURNEY:
        journeys.setdefault(target.pk, target)
    for journey in journeys.values():
        _enter_journey(leads=every, journey=journey, lead_import=lead_import, now=now)


def _merge(
    *, lead: Lead, values: Mapping[str, Any], lead_import: LeadImport, now: datetime
) -> bool:
    """Apply the dedupe policy to an existing lead in memory; True if anything changed."""
    policy = lead_import.dedupe
    if policy == LeadImport.Dedupe.SKIP:
        return False
    changed = False
    for name, value in _lead_values(values).items():
        current = getattr(lead, name)
        empty = current in ("", None)
        # Attribution is first touch, as on capture: filled where empty, never replaced.
        overwrite = policy == LeadImport.Dedupe.OVERWRITE and name not in _FIRST_TOUCH
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


def _enroll(*, leads: list[tuple[int, str, str]], sequence: Sequence, now: datetime) -> None:
    """Enroll the chunk's leads (id, email, time zone) as nurture.enroll_lead does, in a
    few statements.

    Unlike a form capture, the day-1 emails are left `scheduled` and due now rather than
    handed to workers at once: the dispatcher's tick then sends them within the sending
    quotas, instead of 100,000 emails hitting the ESP in a minute.
    """
    emails = [email for _id, email, _zone in leads]
    suppressed = set(Suppression.objects.filter(email__in=emails).values_list("email", flat=True))
    zone_of = {lead_id: zone for lead_id, email, zone in leads if email not in suppressed}
    enrolled = insert_rows(
        Enrollment,
        [{"lead_id": lead_id, "sequence_id": sequence.pk, "started_at": now,
          "state": Enrollment.State.ACTIVE} for lead_id in zone_of],
        now=now, ignore_conflicts_on=["lead_id", "sequence_id", "round"],
        returning=["id", "lead_id"],
    )  # fmt: skip
    steps = [step for step in sequence.steps.all() if step.is_active]
    due_by_zone: dict[str, list[datetime]] = {}
    rows = []
    for enrollment_id, lead_id in enrolled:
        name = zone_of[lead_id]
        if name not in due_by_zone:
            zone = lead_zone(lead=Lead(time_zone=name), sequence=sequence)
            due_by_zone[name] = [
                compute_due_at(enrolled_at=now, day=step.day, zone=zone, sequence=sequence)
                for step in steps
            ]
        rows += [
            {"enrollment_id": enrollment_id, "step_id": step.pk, "due_at": due,
             "status": Delivery.Status.SCHEDULED, "status_changed_at": now}
            for step, due in zip(steps, due_by_zone[name], strict=True)
        ]  # fmt: skip
    insert_rows(Delivery, rows, now=now)
    Lead.objects.filter(pk__in=[lead_id for _id, lead_id in enrolled], stage=Lead.Stage.NEW).update(
        stage=Lead.Stage.NURTURING
    )


def _enter_journey(
    *,
    leads: list[tuple[int, str, str]],
    journey: Sequence,
    lead_import: LeadImport,
    now: datetime,
) -> None:
    """The chunk's leads enter the journey at its start node, set-based, by its re-entry
    rule; suppressed addresses stay out, as in `_enroll`. A journey paused since the
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
    from scoring import tasks as scoring_tasks

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
        if lead_import.created_count or lead_import.updated_count:
            # Fit rules score imported leads in one set-based pass, not 100,000 rescorings.
            transaction.on_commit(
                lambda: scoring_tasks.decay_scores.delay(ScoreChange.Cause.MANUAL), robust=True
            )


def _reset(lead_import: LeadImport, *, status: str, dry_run: bool) -> None:
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
        update_fields=["status", "is_dry_run", "processed_rows", "created_count",
                       "updated_count", "skipped_count", "error_count", "row_errors",
                       "failure", "started_at", "finished_at"]
    )  # fmt: skip


# Reading and validating rows -------------------------------------------------------------

_LEAD_COLUMNS = [name for name in FIELDS if name not in ("email", "campaign")] + ["campaign_id"]


_FIRST_TOUCH = frozenset({"source", "campaign_id"})
_NAME_FIELDS = frozenset({"first_name", "last_name"})


def _lead_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated row values as Lead attributes (the email included)."""
    return {
        ("campaign_id" if name == "campaign" else name): value for name, value in values.items()
    }


def _validated_rows(lead_import: LeadImport) -> Iterator[RowResult]:
    mapping = {column: name for column, name in lead_import.mapping.items() if name in FIELDS}
    index_of = {header: index for index, header in enumerate(lead_import.headers)}
    columns = [(index_of[column], name) for column, name in mapping.items() if column in index_of]
    campaigns = _campaign_keys()
    first_row_of: dict[str, int] = {}
    reader = csv.reader(
        io.StringIO(lead_import.csv_text, newline=""), delimiter=lead_import.delimiter
    )
    next(reader, None)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = RowResult(number=reader.line_num)
        for index, name in columns:
            raw = cells[index].strip() if index < len(cells) else ""
            if not raw:
                continue
            value, message = _clean(name, raw, campaigns)
            if message:
                row.errors.append({"row": row.number, "field": name, "message": message})
            else:
                row.values[name] = value
        if "phone" in row.values:
            # After the loop: a number without its country code is read in the row's country.
            try:
                row.values["phone"] = normalise_phone(
                    row.values["phone"], country=row.values.get("country") or ""
                )
            except ValidationError as error:
                del row.values["phone"]
                row.errors.append(
                    {"row": row.number, "field": "phone", "message": " ".join(error.messages)}
                )
        email = row.values.get("email")
        if email is None and not any(error["field"] == "email" for error in row.errors):
            row.errors.append({"row": row.number, "field": "email", "message": "Email is missing."})
        elif email is not None:
            first = first_row_of.setdefault(email, row.number)
            if first != row.number:
                message = f"Duplicate of row {first} in this file."
                row.errors.append({"row": row.number, "field": "email", "message": message})
        yield row


def _clean(name: str, raw: str, campaigns: Mapping[str, int]) -> tuple[Any, str]:
    """(cleaned value, "") or (None, what is wrong). Messages never quote the value: row
    errors are kept after the file is gone."""
    if name == "email":
        email = normalise_email(raw)
        try:
            validate_email(email)
        except ValidationError:
            return None, "Not a valid email address."
        if len(email) > _max_length("email"):
            return None, f"Longer than {_max_length('email')} characters."
        return email, ""
    if name == "campaign":
        campaign_id = campaigns.get(raw.lower())
        return (campaign_id, "") if campaign_id else (None, "No campaign with this key or name.")
    if name == "country":
        code = countries.alpha2(raw) or countries.by_name(raw)
        return (code, "") if code else (None, "Not a country name or ISO code.")
    if name == "time_zone":
        return (raw, "") if raw in _time_zones() else (None, "Not an IANA time zone name.")
    if name == "company_size":
        size = _company_sizes().get(raw.replace("–", "-").replace(",", "").lower())
        return (size, "") if size else (None, "Not one of the company sizes.")
    if len(raw) > _max_length(name):
        return None, f"Longer than {_max_length(name)} characters."
    if name in _NAME_FIELDS:
        try:
            validate_person_name(raw)
        except ValidationError as error:
            return None, " ".join(error.messages)
    return raw, ""


@cache
def _max_length(name: str) -> int:
    return int(Lead._meta.get_field(name).max_length or 0)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _company_sizes() -> dict[str, str]:
    sizes = {}
    for value, label in Lead.CompanySize.choices:
        sizes[value.lower()] = value
        sizes[str(label).replace("–", "-").replace(",", "").lower()] = value
    return sizes


def _campaign_keys() -> dict[str, int]:
    keys: dict[str, int] = {}
    for pk, name, key in Campaign.objects.values_list("pk", "name", "utm_campaign"):
        keys.setdefault(name.lower(), pk)
        keys[key.lower()] = pk  # the key wins over another campaign's name
    return keys


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample.split("\n", 20)[0] + "\n", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _unique_headers(header: list[str]) -> list[str]:
    headers: list[str] = []
    for index, cell in enumerate(header, start=1):
        name = cell.strip() or f"Column {index}"
        candidate, copy = name, 2
        while candidate in headers:
            candidate, copy = f"{name} ({copy})", copy + 1
        headers.append(candidate)
    return headers
