"""nurture.scale_100k: due deliveries sent end to end by one sending worker as production
runs it, emails/s and the worker's peak memory; see bench/README.md."""

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql

from ..support import stack
from ..support.accounting import CpuWindow, PeakMemory
from ..support.mail import Sink, smtp_sink
from ..support.output import BenchFailure, Options, label, log
from ..support.workers import SEND_QUEUE, celery_workers, sender_command, wait_for_mail
from .nurture_common import (
    FIRST_LEAD_ID,
    Sequence,
    add_leads,
    app_env,
    database_url,
    demo_sequence,
    prepare_database,
    sent_count,
    start_dispatcher,
    vacuum_analyze,
    wait_until_sent,
)

SCALE_FULL = 100_000
# 100,000 takes 20 to 80 minutes at the 20 to 80 emails/s measured on the shared 2-core
# bench machine; 5,000 keeps `make bench` under ten minutes. BENCH_NURTURE_SCALE=100000.
SCALE_DEFAULT = 5_000
# The baseline run, for memory: this many rows, or a fifth of the big run when that is less.
SCALE_SMALL = 10_000
# One sending worker as production runs it (`-Q sending`, docker-compose.yml's `sender`).
SCALE_WORKERS = 1
SCALE_MEMORY_TARGET = 250 * 2**20  # summed RSS over the worker's processes, in all


@dataclass(frozen=True)
class _ScaleRun:
    rows: int
    per_second: float
    memory: dict[str, int]  # peak bytes by kind (PeakMemory.KINDS)
    processes: int
    cpu_per_email: str
    note: str


def _scale_run(
    env: dict[str, str], sink: Sink, *, rows: int, first: int, sequence: Sequence, var_dir: Path
) -> _ScaleRun:
    db_url = env["DATABASE_URL"]
    load_started = time.monotonic()
    add_leads(
        db_url,
        first=first,
        count=rows,
        sequence=sequence,
        status="scheduled",
        due=sql.SQL("now() - interval '1 minute'"),
        one_step_each=True,
    )
    vacuum_analyze(db_url)
    sent_before = sent_count(db_url)
    log(f"scale: {rows} due rows loaded in {time.monotonic() - load_started:.0f} s")
    before = len(sink)
    # The worker consumes the sending queue alone: were hand_out_due's send_batch tasks
    # routed anywhere else, nothing would arrive and the run would stall and fail.
    sender = sender_command()
    with celery_workers(
        env,
        count=SCALE_WORKERS,
        concurrency=sender.concurrency,
        log_dir=var_dir,
        queues=SEND_QUEUE,
        pool=sender.pool,
    ) as workers:
        log(
            f"scale: {SCALE_WORKERS} worker -Q {SEND_QUEUE} --pool {sender.pool} "
            f"--concurrency {sender.concurrency} ready; dispatching {rows} deliveries"
        )
        with PeakMemory(workers.pids) as memory:
            dispatcher = start_dispatcher(env, low_water=env.get("NURTURE_DISPATCH_BATCH", "500"))
            try:
                with CpuWindow(
                    f"scale {rows}", roots=[dispatcher.pid, *workers.roots()], db_url=db_url
                ) as window:
                    wait_for_mail(sink, total=before + rows, workers=workers, what="scale")
            finally:
                dispatcher.terminate()
                stdout, _ = dispatcher.communicate(timeout=30)
        sent = wait_until_sent(db_url, sent_before + rows) - sent_before
    arrivals = sink.arrivals[before:]
    seconds = arrivals[-1][0] - arrivals[0][0]
    per_second = (len(arrivals) - 1) / seconds if seconds else 0.0
    dispatched = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    log(
        f"scale {rows}: {per_second:.1f} emails/s, peak {_megabytes(memory.peak)} over "
        f"{memory.processes} processes; dispatcher {dispatched}"
    )
    distinct = len({recipient for _, recipient in arrivals})
    if distinct != rows or len(arrivals) != rows or sent != rows:
        raise BenchFailure(
            f"scale {rows}: {len(arrivals)} messages to {distinct} recipients at the sink, "
            f"{sent} rows marked sent"
        )
    return _ScaleRun(
        rows=rows,
        per_second=per_second,
        memory=dict(memory.peak),
        processes=memory.processes,
        cpu_per_email=window.per_unit(rows),
        note=window.note,
    )


def _megabytes(peak: dict[str, int]) -> str:
    return ", ".join(f"{kind.upper()} {peak[kind] / 2**20:.0f} MB" for kind in PeakMemory.KINDS)


def scale(options: Options) -> list[str]:
    """Due deliveries sent end to end by one sending worker: emails/s and its peak memory
    (summed RSS, in all), at BENCH_NURTURE_SCALE rows and, as the baseline, at a fifth of that or
    10,000 rows."""
    total = stack.env_int("BENCH_NURTURE_SCALE", SCALE_DEFAULT)
    small = max(min(SCALE_SMALL, total // 5), 1)
    db_url = database_url()
    with (
        tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp,
        smtp_sink() as (sink, port),
    ):
        var_dir = Path(tmp)
        env = app_env(db_url=db_url, var_dir=var_dir, email_url=f"smtp://127.0.0.1:{port}")
        log(f"scale: recreating {db_url}, migrate, seed_demo")
        prepare_database(env)
        sequence = demo_sequence(db_url)
        runs = []
        first = FIRST_LEAD_ID
        for rows in (small, total):
            runs.append(
                _scale_run(env, sink, rows=rows, first=first, sequence=sequence, var_dir=var_dir)
            )
            first += rows
        stack.flush_redis(env)

    baseline, big = runs
    rss, base_rss = big.memory["rss"], baseline.memory["rss"]
    rss_ratio = rss / base_rss if base_rss else float("inf")
    shrunk = ""
    if total < SCALE_FULL and big.per_second:
        shrunk = (
            f"; N={total:,}, not {SCALE_FULL:,}, which would take "
            f"{SCALE_FULL / big.per_second / 60:.0f} min at this rate "
            f"(BENCH_NURTURE_SCALE={SCALE_FULL} for it)"
        )
    met = "met" if rss < SCALE_MEMORY_TARGET else "NOT met"
    sender = sender_command()
    return [
        f"{label('nurture.scale_100k')}{big.per_second:.1f} emails/s, worker's peak RSS "
        f"{rss / 2**20:.0f} MB in all (summed over its processes; PSS "
        f"{big.memory['pss'] / 2**20:.0f} MB, USS {big.memory['uss'] / 2**20:.0f} MB) at "
        f"{big.rows:,} rows  at {baseline.rows:,} rows (baseline): "
        f"{baseline.per_second:.1f} emails/s, RSS {base_rss / 2**20:.0f} MB  "
        f"rss ratio={rss_ratio:.2f} (target: send_throughput's rate, summed RSS < "
        f"{SCALE_MEMORY_TARGET / 2**20:.0f} MB: {met}, memory flat)  [CPU per email: worker "
        f"and dispatcher {big.cpu_per_email}]  [{SCALE_WORKERS} worker -Q {SEND_QUEUE} "
        f"--pool {sender.pool} --concurrency {sender.concurrency}, {big.processes} "
        f"process(es), send_batch tasks of NURTURE_SEND_BATCH rows; RSS/PSS/USS from "
        f"psutil's memory_full_info{shrunk}]" + big.note + baseline.note
    ]
