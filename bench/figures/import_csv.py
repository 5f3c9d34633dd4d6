"""integrations.import_100k: a 100,000-row CSV imported by the admin's background task.

A dedicated database (BENCH_IMPORT_DATABASE_URL, default leadfunnel_bench_import, dropped
and recreated) is migrated and given 10,000 existing leads that the file also holds (the
update path) and a playbook sequence. The file (BENCH_IMPORT_ROWS rows, default 100,000,
about 9 MB) has eight columns, 1% bad rows and every lead enrolled in the sequence. The
figure is the import task from queued to done (chunks of 1,000 rows: upsert, consent,
activity, enrollment with five deliveries each, progress), run through Celery's eager mode
in a subprocess (`python -m bench.drivers.import_csv`); the dry run over the same file is
shown beside it. The baseline is one
plain INSERT … SELECT of as many leads and activities in SQL: the floor of writing the rows.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from ..support import postgres, stack
from ..support.output import BenchFailure, Options, label, log

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadfunnel_bench_import"
EXISTING = 10_000
TARGET_RATIO = 30.0

BASELINE_SQL = """
WITH leads AS (
    INSERT INTO capture_lead (uid, email, first_name, last_name, phone, company, job_title,
        company_size, industry, country, time_zone, answers, consent_given_at, consent_text,
        source, stage, score, temperature, created_at, updated_at, last_activity_at)
    SELECT gen_random_uuid(), 'baseline' || i || '@example.net', 'First', 'Last', '',
        'Company ' || i, 'Engineer', '', '', 'GB', 'Europe/London', '{}'::jsonb, now(),
        'Agreed', 'import', 'new', 0, 'cold', now(), now(), now()
    FROM generate_series(1, %(rows)s) AS i
    RETURNING id
)
INSERT INTO capture_activity (lead_id, kind, occurred_at, metadata)
SELECT id, 'custom', now(), '{"name": "lead_imported"}'::jsonb FROM leads
"""
EXISTING_SQL = """
INSERT INTO capture_lead (uid, email, first_name, last_name, phone, company, job_title,
    company_size, industry, country, time_zone, answers, consent_text, source, stage, score,
    temperature, created_at, updated_at, last_activity_at)
SELECT gen_random_uuid(), 'row' || i || '@company' || (i %% 500) || '.example', 'Known', '',
    '', '', '', '', '', '', '', '{}'::jsonb, '', '', 'new', 0, 'cold', now(), now(), now()
FROM generate_series(1, %(existing)s) AS i
"""


def _csv(path: Path, rows: int) -> None:
    zones = ("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "")
    titles = ("Head of Marketing", "CTO", "Engineer", "Founder", "VP Sales")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffEmail,First name,Last name,Company,Job title,Country,Time zone,Phone\r\n")
        for i in range(1, rows + 1):
            email = f"row{i}@company{i % 500}.example" if i % 100 else f"row{i}-at-nowhere"
            out.write(
                f"{email},First{i},Last{i},Company {i % 5000},{titles[i % 5]},"
                f"{('GB', 'DE', 'US', 'JP', 'FR')[i % 5]},{zones[i % 5]},"
                f"+44 20 7946 {i % 10000:04d}\r\n"  # a valid UK number: capture checks phones
            )


def import_100k(options: Options) -> list[str]:
    rows = stack.env_int("BENCH_IMPORT_ROWS", 100_000)
    url = os.environ.get("BENCH_IMPORT_DATABASE_URL", DEFAULT_DATABASE_URL)
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-import-") as tmp:
        env = stack.server_env(database_url=url, var_dir=Path(tmp))
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
        log(f"import: recreating {url} and migrating")
        postgres.recreate_database(url)
        stack.manage(env, "migrate", "--noinput", "-v0")
        with postgres.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL, {"rows": rows})
            baseline = time.perf_counter() - started
            cursor.execute("DELETE FROM capture_activity")
            cursor.execute("DELETE FROM capture_lead")
            cursor.execute(EXISTING_SQL, {"existing": EXISTING})
            cursor.execute("VACUUM ANALYZE capture_lead")
            cursor.execute("VACUUM ANALYZE capture_activity")
        path = Path(tmp) / "leads.csv"
        _csv(path, rows)
        log(f"import: {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB; dry run and import")
        result = json.loads(stack.run_driver(env, "import_csv", str(path)))
    ratio = result["import_seconds"] / baseline
    line = (
        f"{label('integrations.import_100k')}rows={rows} import={result['import_seconds']:.1f}s "
        f"({rows / result['import_seconds']:,.0f} rows/s) dry_run={result['dry_run_seconds']:.1f}s "
        f"baseline_insert={baseline:.2f}s ratio={ratio:.1f}x (target <= {TARGET_RATIO:g}x)  "
        f"created={result['created']} updated={result['updated']} errors={result['errors']} "
        f"deliveries={result['deliveries']} +scoring={result['scoring_seconds']:.1f}s"
    )
    expected_errors = rows // 100
    if result["created"] + result["updated"] + result["errors"] != rows or (
        result["errors"] != expected_errors
    ):
        raise BenchFailure("the import's totals do not add up to the file", [line])
    return [line]
