"""The journey tick's figures: 100,000 due enrollments against claiming plain rows, and the
tick's cost as the waiting table grows.

Each figure recreates its own PostgreSQL database (the capture bench's name plus
`_journeys`), migrates it and runs `bench.drivers.journeys` in a subprocess, which builds the
journey (wait 1 hour → branch on temperature → one of two emails), loads the rows in SQL and
times the tick there. Nothing is sent: the journey's window is closed today, so the emails
are scheduled for later and the figure is the tick alone.
"""

import json
import tempfile
from pathlib import Path
from typing import Any

from ..support import postgres, stack
from ..support.output import BenchFailure, Options, log

TARGET_FULL = 2.0
TARGET_SPARSE = 1.5


def database_url() -> str:
    return postgres.suffixed(stack.database_url(), "_journeys")


def _prepare(tmp: str) -> dict[str, str]:
    db_url = database_url()
    env = stack.server_env(database_url=db_url, var_dir=Path(tmp))
    batch = stack.env_int("BENCH_JOURNEYS_BATCH", 1000)
    env["JOURNEY_TICK_BATCH"] = str(batch)
    log(f"journeys: recreating {db_url}, migrate")
    postgres.recreate_database(db_url)
    stack.manage(env, "migrate", "--noinput", "-v0")
    return env


def _drive(env: dict[str, str], *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stack.run_driver(env, "journeys", *args))
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def tick_100k(options: Options) -> list[str]:
    """The tick advancing BENCH_JOURNEYS_DUE (100,000) due enrollments through wait → branch
    → email, against claiming as many plain rows with SKIP LOCKED, same batch size."""
    count = stack.env_int("BENCH_JOURNEYS_DUE", 100_000)
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp:
        env = _prepare(tmp)
        batch = int(env["JOURNEY_TICK_BATCH"])
        log(f"journeys.tick_100k: {count:,} due enrollments, batches of {batch}")
        result = _drive(env, "tick-100k", "--count", str(count), "--batch", str(batch))
    expected = {
        "advanced": count,
        "claimed": count,
        "deliveries": count,
        "path_rows": 2 * count,
        "at_email": count,
        "floored": count,
    }
    wrong = {key: result[key] for key, value in expected.items() if result[key] != value}
    floor_expected = {"path_rows": 2 * count, "deliveries": count, "at_email": count}
    if result["floor_counts"] != floor_expected:
        wrong["floor_counts"] = result["floor_counts"]
    ratio = result["tick"] / result["plain"] if result["plain"] else float("inf")
    over_floor = result["tick"] / result["floor"] if result["floor"] else float("inf")
    floor_ratio = result["floor"] / result["plain"] if result["plain"] else float("inf")
    line = (
        f"journeys.tick_100k  {_ms(result['tick'])} to advance {count:,} enrollments "
        f"(wait → branch → email: {result['path_rows']:,} path rows, {result['deliveries']:,} "
        f"deliveries), {_ms(result['plain'])} to claim {count:,} plain rows (baseline)  "
        f"ratio={ratio:.2f} (target <= {TARGET_FULL:g})  floor={_ms(result['floor'])} "
        f"(the same writes in one hand-written statement a batch: {floor_ratio:.1f}x the "
        f"plain claim; the tick is {over_floor:.2f}x the floor)  [batches of {batch}]"
    )
    if wrong:
        raise BenchFailure(f"journeys.tick_100k: expected {expected}, got {wrong}", [line])
    return [line]


def tick_sparse(options: Options) -> list[str]:
    """The tick for 1,000 due among 10,000 waiting (baseline) and among 1,000,000."""
    due = stack.env_int("BENCH_JOURNEYS_SPARSE_DUE", 1000)
    small = stack.env_int("BENCH_JOURNEYS_SPARSE_SMALL", 10_000)
    large = stack.env_int("BENCH_JOURNEYS_SPARSE_LARGE", 1_000_000)
    repeats = stack.env_int("BENCH_JOURNEYS_REPEATS", 5)
    # Each run advances `due` waiting enrollments for good (they move on to the email), so
    # the small table must hold a fresh `due` for every run, the untimed first one too.
    if small < due * (repeats + 1):
        raise BenchFailure(
            f"journeys.tick_sparse: BENCH_JOURNEYS_SPARSE_SMALL={small:,} waiting cannot give "
            f"{repeats + 1} runs of {due:,} due each; set it to at least {due * (repeats + 1):,}",
            [],
        )
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp:
        env = _prepare(tmp)
        batch = int(env["JOURNEY_TICK_BATCH"])
        log(f"journeys.tick_sparse: {due:,} due among {small:,}, then among {large:,}")
        result = _drive(
            env,
            "tick-sparse",
            "--due",
            str(due),
            "--small",
            str(small),
            "--large",
            str(large),
            "--repeats",
            str(repeats),
            "--batch",
            str(batch),
        )
    small_s, large_s = result["small"]["median"], result["large"]["median"]
    for label in ("small", "large"):
        runs = ", ".join(_ms(s) for s in result[label]["runs"])
        log(f"journeys.tick_sparse {result[label]['rows']:,} waiting: {runs}")
    ratio = large_s / small_s if small_s else float("inf")
    return [
        f"journeys.tick_sparse  {_ms(large_s)} for {due:,} due among {large:,} waiting, "
        f"{_ms(small_s)} among {small:,} (baseline)  ratio={ratio:.2f} "
        f"(target <= {TARGET_SPARSE:g})  [median of {repeats}]"
    ]
