"""The journey tick benches' Django side: build the journey, load rows in SQL, time the tick.

`bench/figures/journeys.py` runs this as a subprocess
(`python -m bench.drivers.journeys COMMAND`) with the bench's environment; each command
prints one JSON object on stdout. The functions also run inside the test suite at a tiny
size (tests/test_bench_smoke.py), on the test database, so a schema change that breaks the
loaders shows up there.

Django's modules are imported inside the functions, not at the top: run as a script, this
file must call `django.setup()` (setup_django) before any model can be imported.
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from ..support import postgres

# Columns the loaders fill (postgres.unloaded_required_columns checks them).
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
        "current_node_id",
        "node_entered_at",
        "next_at",
    },
}
PLAIN_TABLE = "bench_plain_claim"


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")
    django.setup()


def unloaded_required_columns() -> list[str]:
    from django.db import connection

    with connection.cursor() as cur:
        return postgres.unloaded_required_columns(cur, LOADED_COLUMNS)


def build_journey(*, name: str = "Bench journey", paused: bool = False) -> dict[str, int]:
    """wait 1 hour → branch (hot?) → one of two emails. The window is closed today, so the
    emails are scheduled for later: the figure is the tick, not the broker. A paused copy
    is never claimed by the tick (the floor's rows)."""
    from django.utils import timezone

    from nurture.models import Node, Sequence, Trigger
    from nurture.services import journeys

    missing = unloaded_required_columns()
    if missing:
        raise SystemExit(
            "bench/drivers/journeys.py cannot fill these NOT NULL columns without a database "
            "default: " + ", ".join(missing) + "; add them to its loaders"
        )
    tomorrow = (timezone.now().weekday() + 1) % 7
    hot = {"field": "temperature", "op": "is", "value": "hot"}
    journey = journeys.build(
        name=name,
        hand_hot_leads_to_sales=False,  # both branches mail: the hot one is half the figure
        nodes={
            "wait": {"kind": Node.Kind.WAIT, "config": {"amount": 1, "unit": "hours"}},
            "branch": {
                "kind": Node.Kind.BRANCH,
                "name": "Hot?",
                "config": {"conditions": [{"when": hot, "label": "hot"}]},
            },
            "hot": {
                "kind": Node.Kind.EMAIL,
                "name": "Hot",
                "email": {"subject": "A call?", "body": "Hi {{ first_name }}."},
            },
            "other": {
                "kind": Node.Kind.EMAIL,
                "name": "Other",
                "email": {"subject": "Three ways", "body": "Hi {{ first_name }}."},
            },
        },
        edges=[("wait", "next", "branch"), ("branch", "c0", "hot"), ("branch", "else", "other")],
        start="wait",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=0,
        window_end_hour=24,
        weekdays=[tomorrow],
        status=Sequence.Status.PAUSED if paused else Sequence.Status.ACTIVE,
    )
    return {"journey": journey.pk, "wait": journey.start_node_id}


def load_waiting(
    *, journey: int, wait: int, first: int, count: int, due: bool, spread_days: int = 30
) -> None:
    """`count` leads (ids from `first`) each waiting at the wait node, arrived two hours ago;
    due now (`due`) or due over the coming `spread_days`. A tenth are hot."""
    from django.db import connection

    last = first + count - 1
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO capture_lead (id, uid, email, first_name, last_name, phone, company,"
            " job_title, company_size, industry, country, time_zone, answers, consent_text,"
            " source, stage, score, temperature, created_at, updated_at, last_activity_at)"
            " SELECT n, gen_random_uuid(), 'j-' || n || '@example.com', 'Bench', 'Lead', '',"
            " 'Bench Ltd', 'Director', '', '', '', 'Europe/Berlin', '{}', '', 'bench',"
            " 'nurturing', 0, CASE WHEN n %% 10 = 0 THEN 'hot' ELSE 'cold' END, now(), now(),"
            " now() FROM generate_series(%s, %s) AS n",
            [first, last],
        )
        cur.execute(
            "INSERT INTO nurture_enrollment (id, lead_id, sequence_id, state, exit_reason,"
            " started_at, needs_confirmation, current_node_id, node_entered_at, next_at)"
            " SELECT n, n, %s, 'active', '', now() - interval '2 hours', false, %s,"
            " now() - interval '2 hours', CASE WHEN %s THEN now() - interval '1 minute'"
            " ELSE now() + interval '1 hour'"
            " + (n::bigint * 7919 %% (%s * 86400)) * interval '1 s' END"
            " FROM generate_series(%s, %s) AS n",
            [journey, wait, due, spread_days, first, last],
        )
        for table in ("capture_lead", "nurture_enrollment"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
            )


def vacuum_analyze() -> None:
    from django.db import connection

    if connection.in_atomic_block:  # inside a test's transaction: statistics only
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        return
    with connection.cursor() as cur:
        for table in ("capture_lead", "nurture_enrollment", "nurture_pathstep", "nurture_delivery"):
            cur.execute(f"VACUUM {table}")
        cur.execute("ANALYZE")


def analyze_tick_tables() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE nurture_pathstep, nurture_delivery, nurture_enrollment")


def time_tick(*, batch: int) -> tuple[float, int]:
    """Batches of `advance_due` until nothing is due: seconds and enrollments advanced."""
    from nurture.services import advancing

    # Nothing is queued (the window is closed today); this keeps a stray publish out too,
    # and is put back after (the smoke test runs this inside the test process).
    after_advance = advancing.after_advance
    advancing.after_advance = lambda **kwargs: None
    advanced = 0
    try:
        started = time.perf_counter()
        while True:
            moved = advancing.advance_due(limit=batch)
            advanced += moved
            if moved < batch:
                break
        return time.perf_counter() - started, advanced
    finally:
        advancing.after_advance = after_advance


def load_plain(*, count: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cur.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id bigserial PRIMARY KEY, due_at timestamptz,"
            " claimed_at timestamptz)"
        )
        cur.execute(
            f"INSERT INTO {PLAIN_TABLE} (due_at) SELECT now() - interval '1 minute'"  # noqa: S608
            " FROM generate_series(1, %s)",
            [count],
        )
        cur.execute(
            f"CREATE INDEX {PLAIN_TABLE}_due ON {PLAIN_TABLE} (due_at) WHERE claimed_at IS NULL"
        )
        cur.execute(f"ANALYZE {PLAIN_TABLE}")


def time_plain(*, batch: int) -> tuple[float, int]:
    """The baseline: claim the plain rows in batches, SKIP LOCKED, and mark them claimed."""
    from django.db import connection, transaction

    claimed = 0
    started = time.perf_counter()
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"SELECT id FROM {PLAIN_TABLE} WHERE claimed_at IS NULL AND due_at <= now()"  # noqa: S608
                " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
                [batch],
            )
            ids = [row[0] for row in cur.fetchall()]
            if ids:
                cur.execute(
                    f"UPDATE {PLAIN_TABLE} SET claimed_at = now() WHERE id = ANY(%s)",  # noqa: S608
                    [ids],
                )
        claimed += len(ids)
        if len(ids) < batch:
            break
    return time.perf_counter() - started, claimed


# The same writes as the tick's for wait → branch → email, by hand in one statement per
# batch and with nothing decided in Python: claim, read the lead's temperature, two path
# rows, one delivery, the new place. What no engine doing these writes can beat.
FLOOR_SQL = """
WITH claimed AS (
    SELECT e.id, e.lead_id FROM nurture_enrollment e
    WHERE e.sequence_id = %(journey)s AND e.state = 'active' AND e.next_at <= now()
    ORDER BY e.next_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
), routed AS (
    SELECT c.id, CASE WHEN l.temperature = 'hot' THEN %(hot)s ELSE %(other)s END AS node
    FROM claimed c JOIN capture_lead l ON l.id = c.lead_id
), path AS (
    INSERT INTO nurture_pathstep (enrollment_id, node_id, node_name, node_kind, entered_at,
        via, result, effect)
    SELECT r.id, n.node, n.name, n.kind, now(), '', '', '' FROM routed r
    CROSS JOIN LATERAL (VALUES (%(branch)s, 'Hot?', 'branch'), (r.node, 'Email', 'email'))
        AS n(node, name, kind)
    ON CONFLICT DO NOTHING RETURNING 1
), delivered AS (
    INSERT INTO nurture_delivery (enrollment_id, step_id, node_id, due_at, status, attempts,
        last_error, status_changed_at, message_id)
    SELECT r.id, s.step_id, r.node, now() + interval '1 day', 'scheduled', 0, '', now(), ''
    FROM routed r JOIN nurture_node s ON s.id = r.node
    ON CONFLICT DO NOTHING RETURNING 1
)
UPDATE nurture_enrollment e SET current_node_id = r.node, node_entered_at = now(),
    next_at = NULL
FROM routed r WHERE e.id = r.id
"""


def time_floor(*, journey: int, batch: int) -> tuple[float, int]:
    """The floor: FLOOR_SQL in batches, each its own transaction as the tick's are."""
    from django.db import connection, transaction

    from nurture.models import Node

    nodes = dict(Node.objects.filter(sequence_id=journey).values_list("name", "pk"))
    params = {
        "journey": journey,
        "batch": batch,
        "branch": nodes["Hot?"],
        "hot": nodes["Hot"],
        "other": nodes["Other"],
    }
    moved = 0
    started = time.perf_counter()
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
            cur.execute(FLOOR_SQL, params)
            count = cur.rowcount
        moved += count
        if count < batch:
            break
    return time.perf_counter() - started, moved


def _counts(journey: int) -> dict[str, int]:
    from nurture.models import Delivery, Enrollment, PathStep

    return {
        "path_rows": PathStep.objects.filter(enrollment__sequence_id=journey).count(),
        "deliveries": Delivery.objects.filter(enrollment__sequence_id=journey).count(),
        "at_email": Enrollment.objects.filter(
            sequence_id=journey, current_node__kind="email"
        ).count(),
    }


def tick_100k(*, count: int, batch: int, first: int = 1_000_000) -> dict[str, Any]:
    """`count` due enrollments through wait → branch → email against `count` plain rows,
    and against the same writes by hand (a paused copy of the journey, so the tick leaves
    its rows alone; done first, so the tick meets the bigger tables)."""
    ids = build_journey()
    floor_ids = build_journey(name="Bench floor", paused=True)
    load_waiting(**ids, first=first, count=count, due=True)
    load_waiting(**floor_ids, first=first + count, count=count, due=True)
    load_plain(count=count)
    vacuum_analyze()
    plain, claimed = time_plain(batch=batch)
    floor, floored = time_floor(journey=floor_ids["journey"], batch=batch)
    tick, advanced = time_tick(batch=batch)
    return {
        "tick": tick,
        "plain": plain,
        "floor": floor,
        "advanced": advanced,
        "claimed": claimed,
        "floored": floored,
        **_counts(ids["journey"]),
        "floor_counts": _counts(floor_ids["journey"]),
    }


def _pick_due(*, journey: int, wait: int, due: int, run: int, total: int) -> int:
    """`due` of the waiting enrollments made due now, spread evenly through the table."""
    from django.db import connection

    stride = max(total // (due * 8), 1)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE nurture_enrollment SET next_at = now() - interval '1 minute' WHERE id IN ("
            " SELECT id FROM nurture_enrollment WHERE sequence_id = %s AND current_node_id = %s"
            " AND state = 'active' AND next_at > now() AND id %% %s = %s ORDER BY id LIMIT %s)",
            [journey, wait, stride, run % stride, due],
        )
        return cur.rowcount


def tick_sparse(
    *, due: int, small: int, large: int, repeats: int, batch: int, first: int = 1_000_000
) -> dict[str, Any]:
    """The tick's time for `due` due enrollments among `small`, then among `large`."""
    ids = build_journey()
    sizes: dict[str, dict[str, Any]] = {}
    loaded = 0
    for label, total in (("small", small), ("large", large)):
        load_waiting(**ids, first=first + loaded, count=total - loaded, due=False)
        loaded = total
        vacuum_analyze()
        runs = []
        for run in range(repeats + 1):
            picked = _pick_due(**ids, due=due, run=run, total=total)
            seconds, advanced = time_tick(batch=batch)
            if picked != due or advanced != due:
                raise SystemExit(f"{label}: picked {picked}, advanced {advanced}, not {due}")
            runs.append(seconds)
            if run == 0:
                # The untimed run left path rows and deliveries the statistics have not
                # seen: fresh ones, so a plan made for empty tables does not time the rest.
                analyze_tick_tables()
        sizes[label] = {"rows": total, "median": statistics.median(runs[1:]), "runs": runs[1:]}
    return {**sizes, **_counts(ids["journey"])}


def profile_tick(*, count: int, batch: int) -> str:
    """Where one batch's time goes (cProfile, cumulative), for making the tick faster."""
    import cProfile
    import io
    import pstats

    ids = build_journey()
    load_waiting(**ids, first=1_000_000, count=count, due=True)
    vacuum_analyze()
    from django.db import connection

    spent: dict[str, float] = {}
    calls: list[float] = []

    def timing(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:90]
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - started
            if key.startswith("SELECT v.enrollment"):
                calls.append(round((time.perf_counter() - started) * 1000, 1))

    profiler = cProfile.Profile()
    with connection.execute_wrapper(timing):
        profiler.enable()
        time_tick(batch=batch)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(40)
    for key, seconds in sorted(spent.items(), key=lambda item: -item[1])[:12]:
        out.write(f"{seconds * 1000:8.0f} ms  {key}\n")
    out.write(f"seen-pairs calls (ms): {calls}\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    full = commands.add_parser("tick-100k")
    full.add_argument("--count", type=int, required=True)
    full.add_argument("--batch", type=int, required=True)
    sparse = commands.add_parser("tick-sparse")
    for name in ("--due", "--small", "--large", "--repeats", "--batch"):
        sparse.add_argument(name, type=int, required=True)
    profile = commands.add_parser("profile")
    profile.add_argument("--count", type=int, required=True)
    profile.add_argument("--batch", type=int, required=True)
    args = parser.parse_args()
    setup_django()
    if args.command == "tick-100k":
        result = tick_100k(count=args.count, batch=args.batch)
    elif args.command == "tick-sparse":
        result = tick_sparse(
            due=args.due, small=args.small, large=args.large, repeats=args.repeats, batch=args.batch
        )
    else:
        print(profile_tick(count=args.count, batch=args.batch), file=sys.stderr)
        result = {}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
