"""The set-based paths on `make run`'s embedded database (SQLite), which the rest of the suite
(PostgreSQL) never takes: an import's chunk joining its segments, and the rescoring of every
lead by the lead-by-lead fallback. Run in a fresh interpreter on a migrated SQLite file."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from capture.models import Lead
    from scoring.services import rescore_all_leads
    from segments.models import Segment, SegmentMember
    from segments.services import refresh_leads

    leads = Lead.objects.bulk_create(
        Lead(email=f"lead{i}@example.com", company="Acme" if i % 3 == 0 else "Other",
             score=90, temperature="hot")
        for i in range(2100)
    )
    segment = Segment.objects.create(
        name="Acme", conditions={"match": "all", "conditions": [
            {"field": "company", "op": "is", "value": "Acme"}]},
    )
    changed = refresh_leads(lead_ids=[lead.pk for lead in leads])
    members = SegmentMember.objects.filter(segment=segment).count()
    result = rescore_all_leads()
    hot = Lead.objects.filter(temperature="hot").count()
    print(f"changed={changed} members={members} hot={hot} rescored={result.rescored}")
    """
)


def test_sqlite_takes_the_set_based_paths(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENV_FILE")}
    env.update(
        VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        DJANGO_SETTINGS_MODULE="leadfunnel.settings",
        DEBUG="0",
        SECRET_KEY="e" * 50,
        EMAIL_URL="memorymail://",
        CELERY_TASK_ALWAYS_EAGER="1",
        ENV_FILE="",
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("manage.py", "migrate", "--noinput", "-v0")
    out = run("-c", SCRIPT)

    # 700 of the 2,100 leads are Acme's: each joined; with no rule giving points, every
    # stored 90 falls to 0 and no lead is hot any more.
    assert "changed=700 members=700 hot=0 rescored=2100" in out, out
