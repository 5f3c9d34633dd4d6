"""nurture.tick_flat: is `hand_out_due`'s cost flat as the table grows? Timed in a driver
process (`bench.drivers.nurture tick`); see bench/README.md."""

import json
import statistics
import tempfile
import time
from pathlib import Path

from psycopg2 import sql

from ..support import postgres, stack
from ..support.output import BenchFailure, Options, label, log
from .nurture_common import (
    FIRST_LEAD_ID,
    add_leads,
    app_env,
    database_url,
    demo_sequence,
    ms,
    prepare_database,
    vacuum_analyze,
)

TICK_DUE = 1_000
TICK_SMALL = 10_000
TICK_LARGE = 1_000_000
TICK_REPEATS = 5


def _tick(env: dict[str, str], *, size: str) -> tuple[float, dict[str, float]]:
    result = json.loads(
        stack.run_driver(
            env, "nurture", "tick", "--repeats", str(TICK_REPEATS), "--expect", str(TICK_DUE)
        )
    )
    if result["short"]:
        raise BenchFailure(
            f"{size}: hand_out_due claimed {result['short']} rows, not {TICK_DUE}: "
            "the figure would time a different amount of work"
        )
    runs = result["runs"]
    median = statistics.median(run["total"] for run in runs)
    parts = {
        name: statistics.median(run["parts"].get(name, 0.0) for run in runs)
        for name in runs[0]["parts"]
    }
    log(
        f"tick_flat {size}: median {ms(median)} of "
        + ", ".join(ms(run["total"]) for run in runs)
        + "; parts (median): "
        + ", ".join(f"{name} {ms(seconds)}" for name, seconds in parts.items())
    )
    return median, parts


def _pick_due(db_url: str, *, total: int) -> None:
    """Exactly TICK_DUE scheduled rows due now, spread evenly through the table."""
    stride = total // TICK_DUE
    with postgres.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE nurture_delivery SET due_at = now() + interval '1 day'"
            " WHERE status = 'scheduled' AND due_at <= now()"
        )
        cur.execute(
            "UPDATE nurture_delivery AS d"
            " SET due_at = now() - interval '1 hour' + (s.r %% 3000) * interval '1 second'"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM nurture_delivery"
            "       WHERE status = 'scheduled') AS s"
            " WHERE d.id = s.id AND s.r %% %s = 0 AND s.r <= %s",
            (stride, stride * TICK_DUE),
        )


def tick_flat(options: Options) -> list[str]:
    """`hand_out_due` minus publishing, 1,000 due among 10,000 and among 1,000,000 rows."""
    db_url = database_url()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp:
        env = app_env(db_url=db_url, var_dir=Path(tmp))
        env["NURTURE_DISPATCH_BATCH"] = str(TICK_DUE)
        log(f"tick_flat: recreating {db_url}, migrate, seed_demo")
        prepare_database(env)
        sequence = demo_sequence(db_url)
        per_lead = len(sequence.step_ids)
        # Not yet due: spread over the coming weeks, as real schedules are.
        future = sql.SQL(
            "now() + interval '1 hour' + ((n * 7 + k * 86400) % 2000000) * interval '1 second'"
        )
        sizes = []
        loaded = 0
        for total in (TICK_SMALL, TICK_LARGE):
            leads = (total - loaded) // per_lead
            started = time.monotonic()
            add_leads(
                db_url,
                first=FIRST_LEAD_ID + loaded // per_lead,
                count=leads,
                sequence=sequence,
                status="scheduled",
                due=future,
            )
            loaded += leads * per_lead
            _pick_due(db_url, total=loaded)
            vacuum_analyze(db_url)
            scheduled = postgres.scalar(
                db_url, "SELECT count(*) FROM nurture_delivery WHERE status = 'scheduled'"
            )
            log(
                f"tick_flat: {scheduled} scheduled rows loaded in "
                f"{time.monotonic() - started:.0f} s; timing"
            )
            sizes.append((scheduled, *_tick(env, size=f"{scheduled} rows")))
        stack.flush_redis(env)

    (small_rows, small, small_parts), (large_rows, large, large_parts) = sizes
    ratio = large / small if small else float("inf")
    growth = sorted(
        large_parts, key=lambda name: large_parts[name] - small_parts.get(name, 0.0), reverse=True
    )
    grew = ", ".join(
        f"{name} {ms(small_parts.get(name, 0.0))} -> {ms(large_parts[name])}" for name in growth[:3]
    )
    return [
        f"{label('nurture.tick_flat')}{ms(large)} with {TICK_DUE:,} due among "
        f"{large_rows:,} rows, {ms(small)} among {small_rows:,} (baseline)  "
        f"ratio={ratio:.2f} (target <= 1.5)  [hand_out_due minus publishing, median of "
        f"{TICK_REPEATS}; grew most: {grew}]"
    ]
