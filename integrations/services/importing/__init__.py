"""CSV import of leads: upload, map columns, dry run, then import in chunks in a worker.

Each chunk of CHUNK_ROWS rows is one transaction that upserts its leads by normalised
email through capture's `import_leads` (INSERT … ON CONFLICT DO NOTHING, then the rows
locked and merged per the dedupe policy) and advances the import's progress in the same
commit: a worker killed mid-file resumes after the last committed chunk, and no row is
imported twice. Day lists are entered through nurture's `enroll_leads` and journeys through
its set-based import trigger; each chunk's activities are announced once on its commit
(`activities_recorded`), and scoring rescores those leads set-based.

Three rooms, one-way: `uploads` (upload, mapping, starting a run) → `running` (the chunks)
→ `rows` (reading and validating the file).
"""

from integrations.services.importing.rows import FIELDS, RowResult, validated_rows
from integrations.services.importing.running import CHUNK_ROWS, IMPORTED_EVENT, run_import
from integrations.services.importing.uploads import (
    SYNC_DRY_RUN_ROWS,
    ImportFileError,
    create_import,
    dry_run_now,
    guess_mapping,
    sample_rows,
    save_mapping,
    start_run,
)

# tests/capture reads the rows through the old private name; capture's slice renames it.
_validated_rows = validated_rows

__all__ = [
    "CHUNK_ROWS",
    "FIELDS",
    "IMPORTED_EVENT",
    "SYNC_DRY_RUN_ROWS",
    "ImportFileError",
    "RowResult",
    "create_import",
    "dry_run_now",
    "guess_mapping",
    "run_import",
    "sample_rows",
    "save_mapping",
    "start_run",
    "validated_rows",
]
