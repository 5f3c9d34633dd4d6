"""Upload and mapping: a CSV file decoded, sniffed and counted, its columns matched to lead
fields, and the (dry) run started, here or in a worker."""

import csv
import io
from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from integrations import queueing
from integrations.models import LeadImport
from integrations.services.importing.running import reset_progress, run_import
from nurture.models import Sequence

# Dry runs of files up to this many rows answer in the request; larger ones run in a worker.
SYNC_DRY_RUN_ROWS = 5000
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


def create_import(*, file_name: str, raw: bytes, user: User) -> LeadImport:
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
        update_fields=[
            "mapping",
            "dedupe",
            "sequence",
            "consent_confirmed",
            "consent_text",
            "status",
        ]
    )
    return lead_import


def start_run(*, import_id: int, dry_run: bool) -> None:
    """Queue the (dry) run for a worker, once the status change is committed."""
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
            reset_progress(lead_import, status=LeadImport.Status.QUEUED, dry_run=dry_run)
        transaction.on_commit(lambda: queueing.run_import_soon(import_id))


def dry_run_now(*, import_id: int) -> LeadImport:
    """Run the dry run in this process (small files): counts and row errors, no writes."""
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().get(pk=import_id)
        reset_progress(lead_import, status=LeadImport.Status.RUNNING, dry_run=True)
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
