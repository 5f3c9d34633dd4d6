"""What the nurture figures share: their database, loaded set-based, and their settings.

Each figure recreates its own PostgreSQL database (the capture bench's name plus
`_nurture`) and uses Redis databases 12 (broker) and 13 (cache), so it can run beside the
capture bench and the test suite. Mail goes to an SMTP sink in the bench process
(support/mail.py) that notes each recipient and when it arrived. Code that needs Django runs
in `bench.drivers.nurture`, a subprocess.
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql

from ..support import postgres, stack
from ..support.output import BenchFailure

# Flushed by every figure: override them where another run or test suite uses these.
BROKER_URL = os.environ.get("BENCH_NURTURE_BROKER_URL", "redis://127.0.0.1:6379/12")
CACHE_URL = os.environ.get("BENCH_NURTURE_CACHE_URL", "redis://127.0.0.1:6379/13")
FIRST_LEAD_ID = 1000  # above seed_demo's few leads

# Columns the set-based loaders fill (postgres.unloaded_required_columns checks them).
LOADED_COLUMNS = {
    "capture_lead": postgres.LEAD_COLUMNS,
    "nurture_enrollment": {
        "id",
        "lead_id",
        "sequence_id",
        "state",
        "exit_reason",
        "started_at",
        "needs_confirmation",
    },
    "nurture_delivery": {
        "id",
        "enrollment_id",
        "step_id",
        "due_at",
        "status",
        "attempts",
        "last_error",
        "status_changed_at",
        "message_id",
    },
}


def database_url() -> str:
    return postgres.suffixed(stack.database_url(), "_nurture")


def app_env(*, db_url: str, var_dir: Path, email_url: str = "dummymail://") -> dict[str, str]:
    """Production settings on the bench's database, broker and cache databases."""
    env = stack.server_env(database_url=db_url, var_dir=var_dir)
    env.update(
        REDIS_URL=CACHE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        EMAIL_URL=email_url,
        STATIC_MANIFEST="0",
    )
    return env


def prepare_database(env: dict[str, str], *, collectstatic: bool = False) -> None:
    """A fresh, migrated bench database with the demo page and its sequence, nothing queued."""
    db_url = env["DATABASE_URL"]
    # seed_demo's hot lead is handed to sales, which emails the rep: not into the sink.
    env = {**env, "EMAIL_URL": "dummymail://"}
    stack.demo_database(env, collectstatic=collectstatic)
    # seed_demo's own leads queued their Day-1 email; it would land in the sink mid-figure.
    stack.flush_redis(env)
    with postgres.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE nurture_delivery SET status = 'cancelled'"
            " WHERE status IN ('scheduled', 'queued', 'sending')"
        )
        missing = postgres.unloaded_required_columns(cur, LOADED_COLUMNS)
    if missing:
        raise BenchFailure(
            "bench/figures/nurture_common.py cannot fill these NOT NULL columns without a "
            "database default: " + ", ".join(missing) + "; add them to its loaders"
        )


@dataclass(frozen=True)
class Sequence:
    id: int
    step_ids: list[int]  # active steps, by day


def demo_sequence(db_url: str) -> Sequence:
    with postgres.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM nurture_sequence ORDER BY id LIMIT 1")
        row = cur.fetchone()
        if row is None:
            raise BenchFailure("seed_demo created no nurture sequence")
        cur.execute(
            "SELECT id FROM nurture_step WHERE sequence_id = %s AND is_active ORDER BY day",
            (row[0],),
        )
        steps = [step_id for (step_id,) in cur.fetchall()]
    if not steps:
        raise BenchFailure("the demo sequence has no active steps")
    return Sequence(id=row[0], step_ids=steps)


def add_leads(
    db_url: str,
    *,
    first: int,
    count: int,
    sequence: Sequence,
    status: str,
    due: sql.Composable,
    one_step_each: bool = False,
) -> None:
    """`count` leads with ids from `first`, enrolled in `sequence` with one Delivery per step,
    or with `one_step_each` a single Delivery whose step rotates through the sequence's.

    Set-based (INSERT … SELECT generate_series), a million rows in well under a minute.
    `due` is an SQL expression of `n` (the lead id) and `k` (the step's position).
    """
    last = first + count - 1
    steps = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(step_id), sql.Literal(position))
        for position, step_id in enumerate(sequence.step_ids)
    )
    with postgres.connect(db_url) as conn, conn.cursor() as cur:
        # Foreign keys are deferred triggers: a million of them would double the load
        # time. The rows are consistent by construction; the session setting is ours only.
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if (cur.fetchone() or (False,))[0]:
            cur.execute("SET session_replication_role = replica")
        cur.execute(
            "INSERT INTO capture_lead (id, uid, email, first_name, last_name, phone, company,"
            " job_title, company_size, industry, country, time_zone, answers, consent_text,"
            " source, stage, score, temperature, created_at, updated_at, last_activity_at)"
            " SELECT n, gen_random_uuid(), 'lead-' || n || '@example.com', 'Bench', 'Lead',"
            " '', 'Bench Ltd', 'Marketing Director', '', '', '', 'Europe/Berlin', '{}', '',"
            " 'bench', 'nurturing', 0, 'cold', now(), now(), now()"
            " FROM generate_series(%s, %s) AS n",
            (first, last),
        )
        cur.execute(
            "INSERT INTO nurture_enrollment (id, lead_id, sequence_id, state, exit_reason,"
            " started_at, needs_confirmation)"
            " SELECT n, n, %s, 'active', '', now(), false FROM generate_series(%s, %s) AS n",
            (sequence.id, first, last),
        )
        cur.execute(
            sql.SQL(
                "INSERT INTO nurture_delivery (enrollment_id, step_id, due_at, status, attempts,"
                " last_error, status_changed_at, message_id)"
                " SELECT n, s.step_id, {due}, {status}, 0, '', now(), ''"
                " FROM generate_series({first}, {last}) AS n"
                " CROSS JOIN (VALUES {steps}) AS s (step_id, k)"
                " WHERE NOT {one_step_each} OR k = n % {step_count} ORDER BY n, k"
            ).format(
                one_step_each=sql.Literal(one_step_each),
                step_count=sql.Literal(len(sequence.step_ids)),
                due=due,
                status=sql.Literal(status),
                first=sql.Literal(first),
                last=sql.Literal(last),
                steps=steps,
            )
        )
        for table in ("capture_lead", "nurture_enrollment", "nurture_delivery"):
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({table}, 'id'), max(id)) FROM {ident}"
                ).format(table=sql.Literal(table), ident=sql.Identifier(table))
            )


def vacuum_analyze(db_url: str) -> None:
    """Vacuum what was loaded, so autovacuum stays idle while timing, and analyze every table.

    Every table: autovacuum never analyzes one with fewer than 50 changed rows, such as
    nurture_sequence and nurture_step; their statistics change the claim query's plan.
    """
    with postgres.connect(db_url, autocommit=True) as conn, conn.cursor() as cur:
        for table in ("capture_lead", "nurture_enrollment", "nurture_delivery"):
            cur.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        cur.execute("ANALYZE")


def ids(db_url: str, query: str) -> list[int]:
    return [int(row_id) for (row_id,) in postgres.fetch(db_url, query)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms"


def sent_count(db_url: str) -> int:
    return postgres.scalar(db_url, "SELECT count(*) FROM nurture_delivery WHERE status = 'sent'")


def wait_until_sent(db_url: str, expected: int, *, timeout: float = 15.0) -> int:
    """The sink has a message a moment before its worker records it as sent."""
    deadline = time.monotonic() + timeout
    while True:
        sent = sent_count(db_url)
        if sent >= expected or time.monotonic() > deadline:
            return sent
        time.sleep(0.1)


def start_dispatcher(env: dict[str, str], *, low_water: str) -> subprocess.Popen[str]:
    """The driver standing in for beat (`bench.drivers.nurture dispatch`), until SIGTERM."""
    return subprocess.Popen(
        stack.driver_command("nurture", "dispatch", "--low-water", low_water),
        cwd=stack.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
