"""integrations.import_100k's Django side: upload, map, dry run and import one CSV file
through the real import service (`bench/figures/import_csv.py` runs this as a subprocess,
`python -m bench.drivers.import_csv FILE`; prints one JSON object).

Django's modules are imported inside `drive`, after `django.setup()`: none can be imported
before it."""

import json
import os
import sys
import time
from pathlib import Path


def drive(path: str) -> None:
    """Inside Django: upload, map, dry run, then the real import through the task."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User

    from integrations.models import LeadImport
    from integrations.services import importing
    from nurture.models import Delivery, Sequence, Step

    user = User.objects.create(username="bench-marketer", is_staff=True)
    sequence = Sequence.objects.create(name="Imported", weekdays=[0, 1, 2, 3, 4, 5, 6])
    for day in (1, 2, 3, 5, 7):
        Step.objects.create(sequence=sequence, day=day, subject=f"Day {day}", body="Hello")
    lead_import = importing.create_import(
        file_name="leads.csv", raw=Path(path).read_bytes(), user=user
    )
    importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe=LeadImport.Dedupe.FILL_EMPTY,
        sequence=sequence,
        consent_text="Agreed to hear from us.",
    )
    started = time.perf_counter()
    importing.dry_run_now(import_id=lead_import.pk)
    dry_run = time.perf_counter() - started
    started = time.perf_counter()
    importing.start_run(import_id=lead_import.pk, dry_run=False)  # on commit: eager task
    everything = time.perf_counter() - started
    lead_import.refresh_from_db()
    assert lead_import.started_at and lead_import.finished_at  # noqa: S101
    took = (lead_import.finished_at - lead_import.started_at).total_seconds()
    print(
        json.dumps(
            {
                "status": lead_import.status,
                "dry_run_seconds": dry_run,
                "import_seconds": took,
                "scoring_seconds": max(everything - took, 0.0),
                "created": lead_import.created_count,
                "updated": lead_import.updated_count,
                "errors": lead_import.error_count,
                "deliveries": Delivery.objects.count(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.drivers.import_csv FILE (run by `python -m bench`)")
    drive(sys.argv[1])
