"""The nurture engine's figures: tick cost, send throughput, speed to lead and scale.

Each bench recreates its own PostgreSQL database (the capture bench's name plus
`_nurture`) and uses Redis databases 12 (broker) and 13 (cache), so it can run beside the
capture bench and the test suite. Mail goes to an aiosmtpd sink in this process that notes
each recipient and when it arrived. Code that needs Django runs in `nurture_driver.py`,
a subprocess: this module's name would shadow the app's inside the bench process.
"""

import base64
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cpu
import httpx
import psycopg2
import stack
from aiosmtpd.controller import Controller
from celery import Celery
from psycopg2 import sql
from stack import BenchFailure, log

# Flushed by every figure: override them where another run or test suite uses these.
BROKER_URL = os.environ.get("BENCH_NURTURE_BROKER_URL", "redis://127.0.0.1:6379/12")
CACHE_URL = os.environ.get("BENCH_NURTURE_CACHE_URL", "redis://127.0.0.1:6379/13")
DRIVER = Path(__file__).with_name("nurture_driver.py")
POST_OFFICE_DRIVER = Path(__file__).with_name("post_office_driver.py")
# The peer baseline of send_throughput, installed for the bench alone (never one of the
# app's requirements) into var/bench-peer/ the first time it is needed.
POST_OFFICE_REQUIREMENT = "django-post-office==3.12.0"
PEER_DIR = stack.ROOT / "var" / "bench-peer"
SEND_TASK = "nurture.tasks.send_batch"
SEND_QUEUE = "sending"
SEND_BATCH = 100  # settings.NURTURE_SEND_BATCH's default
LANDING_PATH = "/l/free-consultation/"
THANKS_PATH = "/l/free-consultation/thanks/"
FIRST_LEAD_ID = 1000  # above seed_demo's few leads
NOISY_CPUS = 0.2
WORKER_STOP_SECONDS = 30
# A run with no new email for this long is stuck, not slow.
STALL_SECONDS = 60

TICK_DUE = 1_000
TICK_SMALL = 10_000
TICK_LARGE = 1_000_000
TICK_REPEATS = 5
SPEED_TO_LEAD_SUBMISSIONS = 200
SPEED_TO_LEAD_WARM_UP = 5
SPEED_TO_LEAD_TIMEOUT = 30.0
SEND_WARM_UP = 20
SCALE_FULL = 100_000
# 100,000 takes 20 to 80 minutes at the 20 to 80 emails/s measured on the shared 2-core
# bench machine; 5,000 keeps `make bench` under ten minutes. BENCH_NURTURE_SCALE=100000.
SCALE_DEFAULT = 5_000
# The baseline run, for memory: this many rows, or a fifth of the big run when that is less.
SCALE_SMALL = 10_000
# One sending worker as production runs it (`-Q sending`, docker-compose.yml's `sender`).
SCALE_WORKERS = 1
SCALE_QUEUES = SEND_QUEUE
SCALE_MEMORY_TARGET = 250 * 2**20  # summed RSS over the worker's processes, in all
COMPOSE_FILE = stack.ROOT / "docker-compose.yml"

# Columns the set-based loaders fill; a new NOT NULL column without a default must be
# added here, and the loader says so instead of failing with an opaque SQL error.
_LOADED_COLUMNS = {
    "capture_lead": {
        "id", "uid", "email", "first_name", "last_name", "phone", "company", "job_title",
        "company_size", "industry", "country", "time_zone", "answers", "consent_text",
        "source", "stage", "score", "temperature", "created_at", "updated_at",
        "last_activity_at",
    },
    "nurture_enrollment": {
        "id", "lead_id", "sequence_id", "state", "exit_reason", "started_at",
        "needs_confirmation",
    },
    "nurture_delivery": {
        "id", "enrollment_id", "step_id", "due_at", "status", "attempts", "last_error",
        "status_changed_at", "message_id",
    },
}  # fmt: skip


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise BenchFailure(f"{name} must be a positive whole number, not {raw!r}")
    return value


def database_url() -> str:
    base = stack.database_url()
    parts = urllib.parse.urlsplit(base)
    return parts._replace(path=f"{parts.path.rstrip('/')}_nurture").geturl()


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


# The database ----------------------------------------------------------------------------


@contextmanager
def _connect(url: str, *, autocommit: bool = False) -> Iterator[Any]:
    conn = psycopg2.connect(url)
    conn.autocommit = autocommit
    try:
        yield conn
        if not autocommit:
            conn.commit()
    finally:
        conn.close()


def prepare_database(env: dict[str, str], *, collectstatic: bool = False) -> None:
    """A fresh, migrated bench database with the demo page and its sequence, nothing queued."""
    db_url = env["DATABASE_URL"]
    # seed_demo's hot lead is handed to sales, which emails the rep: not into the sink.
    env = {**env, "EMAIL_URL": "dummymail://"}
    if collectstatic:
        stack.manage(env, "collectstatic", "--noinput", "-v0")
    stack.recreate_database(db_url)
    stack.flush_redis(env)
    stack.manage(env, "migrate", "--noinput", "-v0")
    stack.manage(env, "seed_demo")
    # seed_demo's own leads queued their Day-1 email; it would land in the sink mid-figure.
    stack.flush_redis(env)
    with _connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE nurture_delivery SET status = 'cancelled'"
            " WHERE status IN ('scheduled', 'queued', 'sending')"
        )
        missing = _unloaded_required_columns(cur)
    if missing:
        raise BenchFailure(
            "bench/nurture.py cannot fill these NOT NULL columns without a database default: "
            + ", ".join(missing)
            + "; add them to its loaders"
        )


def _unloaded_required_columns(cur: Any) -> list[str]:
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = ANY(%s) AND is_nullable = 'NO'"
        " AND column_default IS NULL AND is_identity = 'NO'",
        (list(_LOADED_COLUMNS),),
    )
    return sorted(
        f"{table}.{column}"
        for table, column in cur.fetchall()
        if column not in _LOADED_COLUMNS[table]
    )


@dataclass(frozen=True)
class Sequence:
    id: int
    step_ids: list[int]  # active steps, by day


def demo_sequence(db_url: str) -> Sequence:
    with _connect(db_url) as conn, conn.cursor() as cur:
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
    with _connect(db_url) as conn, conn.cursor() as cur:
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
    with _connect(db_url, autocommit=True) as conn, conn.cursor() as cur:
        for table in ("capture_lead", "nurture_enrollment", "nurture_delivery"):
            cur.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        cur.execute("ANALYZE")


def _scalar(db_url: str, query: str, params: tuple[Any, ...] = ()) -> int:
    with _connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _ids(db_url: str, query: str, params: tuple[Any, ...] = ()) -> list[int]:
    with _connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return [int(row_id) for (row_id,) in cur.fetchall()]


# The SMTP sink ---------------------------------------------------------------------------


class Sink:
    """aiosmtpd handler: the recipient and arrival time of every message, nothing more
    unless `keep` asks for the envelopes too (to replay them in the baseline)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.kept: list[tuple[str, list[str], bytes]] = []
        self.keep = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        for recipient in envelope.rcpt_tos:
            self.arrivals.append((now, recipient.lower()))
        if self.keep:
            self.kept.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def __len__(self) -> int:
        return len(self.arrivals)


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    port = stack._free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


# Workers ---------------------------------------------------------------------------------


@dataclass
class Workers:
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    def pids(self) -> list[int]:
        return [pid for root in self.roots() for pid in (root, *cpu.descendants(root))]

    def check_alive(self) -> None:
        for process, log_path in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise BenchFailure(
                    f"celery worker exited ({process.returncode}):\n{stack._tail(log_path)}"
                )


@dataclass(frozen=True)
class WorkerCommand:
    pool: str
    concurrency: int


def sender_command() -> WorkerCommand:
    """The sending worker's pool and concurrency as production runs it: docker-compose.yml's
    `sender` command (the README and Procfile.dev say the same), so the figures measure that
    command and not one of the bench's own. BENCH_NURTURE_POOL overrides the pool, to compare
    (`prefork`)."""
    import yaml

    command = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["sender"]["command"]
    pool = command[command.index("--pool") + 1] if "--pool" in command else "prefork"
    concurrency = int(command[command.index("--concurrency") + 1])
    return WorkerCommand(pool=os.environ.get("BENCH_NURTURE_POOL") or pool, concurrency=concurrency)


def _broker_app() -> Celery:
    return Celery("nurture-bench", broker=BROKER_URL)


@contextmanager
def celery_workers(
    env: dict[str, str],
    *,
    count: int,
    concurrency: int,
    log_dir: Path,
    queues: str = f"celery,{SEND_QUEUE}",
    pool: str = "prefork",
) -> Iterator[Workers]:
    """`count` worker processes, ready (they answer a ping) when the block starts."""
    names = [f"nurture-bench-{uuid.uuid4().hex[:8]}-{index}" for index in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    logs = [log_dir / f"{name}.log" for name in names]
    try:
        for name, log_path in zip(names, logs, strict=True):
            command = [
                str(stack.VENV_BIN / "celery"), "-A", "leadfunnel", "worker",
                "-Q", queues, "--pool", pool, "--concurrency", str(concurrency),
                "--loglevel", "WARNING",
                "--without-mingle", "--without-gossip", "--hostname", f"{name}@%h",
            ]  # fmt: skip
            with log_path.open("w") as log_file:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=stack.ROOT,
                        env=env,
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                    )
                )
        workers = Workers(processes=processes, logs=logs)
        _wait_for_ping(workers, names)
        yield workers
        _stop_workers(processes, logs)
    finally:
        _kill_leftovers(processes)


def _kill_leftovers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Failure path: SIGKILL on a worker's main process alone would orphan its pool."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in cpu.descendants(process.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def _wait_for_ping(workers: Workers, names: list[str]) -> None:
    app = _broker_app()
    deadline = time.monotonic() + 60
    waiting = set(names)
    while waiting and time.monotonic() < deadline:
        workers.check_alive()
        for reply in app.control.ping(timeout=0.5):
            for node in reply:
                waiting.discard(node.partition("@")[0])
    if waiting:
        raise BenchFailure(f"celery workers {sorted(waiting)} did not answer a ping in 60 s")


def _stop_workers(processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    for process in processes:
        process.terminate()  # warm shutdown: running tasks finish
    for process, log_path in zip(processes, logs, strict=True):
        try:
            process.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise BenchFailure(
                f"celery worker ignored SIGTERM for {WORKER_STOP_SECONDS} s:\n"
                f"{stack._tail(log_path)}"
            ) from exc


def publish(delivery_ids: list[int]) -> None:
    """What `dispatching.hand_out` sends: one `send_batch` task per batch of rows, on the
    sending queue."""
    app = _broker_app()
    with app.producer_or_acquire() as producer:
        for start in range(0, len(delivery_ids), SEND_BATCH):
            batch = delivery_ids[start : start + SEND_BATCH]
            app.send_task(SEND_TASK, args=[batch], producer=producer, queue=SEND_QUEUE)


class PeakMemory:
    """Peaks, over 0.5 s samples, of the workers' process trees' memory summed three ways.

    Summed RSS (resident set size, psutil's `memory_info().rss`, one process after another)
    is the figure the target is set in: it counts every page each process maps, so a
    copy-on-write page a prefork child shares with its parent counts once per process. PSS
    (proportional set size: such a page counts 1/n in each of the n; psutil's
    `memory_full_info().pss`, from the same /proc file) is what the processes use between
    them, and summed USS (pages no other process maps) leaves shared ones out. With the
    threads pool there is one process and the three nearly agree. Each peak is the largest
    sum in one sample.
    """

    KINDS = ("pss", "uss", "rss")

    def __init__(self, workers: Workers) -> None:
        self._workers = workers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = dict.fromkeys(self.KINDS, 0)
        self.processes = 0  # the most processes in one sample

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._workers.pids()
            totals = Counter[str]()
            for pid in pids:
                totals.update(memory_bytes(pid))
            for kind in self.KINDS:
                self.peak[kind] = max(self.peak[kind], totals[kind])
            self.processes = max(self.processes, len(pids))
            self._stop.wait(0.5)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def memory_bytes(pid: int) -> dict[str, int]:
    """RSS, PSS and USS of one process from /proc/<pid>/smaps_rollup (Linux 4.14+)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}  # exited between listing and reading
    kib = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.partition(":")
        with contextlib.suppress(ValueError, IndexError):
            kib[name] = int(value.split()[0])
    return {
        "rss": kib.get("Rss", 0) * 1024,
        "pss": kib.get("Pss", 0) * 1024,
        "uss": (kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)) * 1024,
    }


def wait_for_mail(sink: Sink, *, total: int, workers: Workers, what: str) -> None:
    """Until the sink holds `total` messages; a run that stops progressing fails."""
    seen, last_progress = len(sink), time.monotonic()
    while len(sink) < total:
        workers.check_alive()
        time.sleep(0.05)
        if len(sink) != seen:
            seen, last_progress = len(sink), time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            raise BenchFailure(
                f"{what}: the sink has {len(sink)} of {total} messages and none arrived for "
                f"{STALL_SECONDS} s; worker log:\n{stack._tail(workers.logs[0])}"
            )


def _busy_seconds() -> float:
    return cpu._busy_ticks() / cpu._TICKS


def _stat_fields(pid: int) -> list[str]:
    # After the ")" closing the command name: ppid is [1], cutime and cstime [13] and [14].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _postmaster_pid(db_url: str) -> int | None:
    with _connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone() or (0,)
        try:
            # While connected: a closed connection's backend is gone from /proc.
            return int(_stat_fields(backend)[1])
        except (OSError, IndexError, ValueError):
            return None  # PostgreSQL on another host: its processes are not ours to see


def _reaped_seconds(pid: int | None) -> float:
    """CPU of the exited children `pid` has reaped, e.g. the postmaster's closed connections."""
    if pid is None:
        return 0.0
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / cpu._TICKS


class CpuWindow:
    """CPU use over a phase: this process (the sink), the system under test, PostgreSQL, and
    everything else on the machine.

    Processes are looked up again when the window closes: workers open their database
    connections at their first task, inside the window. A process born inside the window
    counts from zero. PostgreSQL's share is the bench database's connections plus those
    that closed inside the window (the postmaster's reaped children, of any database, less
    what they had used before it): the app opens one connection per task. Children of the
    roots that exit inside the window (a multiprocessing pool, a recycled prefork child)
    count through their parent's reaped-children time.
    """

    def __init__(self, name: str, *, roots: list[int], db_url: str) -> None:
        self.name, self._roots, self._db_url = name, roots, db_url
        self.note = ""
        # CPU seconds of the system under test and of PostgreSQL over the window.
        self.tested_seconds = self.database_seconds = 0.0
        self._before: dict[int, float] = {}
        self._backends_before: dict[int, float] = {}
        self._roots_reaped = 0.0
        self._started = (0.0, 0.0, 0.0, 0.0)
        self._postmaster = _postmaster_pid(db_url)

    def _tested(self) -> list[int]:
        return [pid for root in self._roots for pid in (root, *cpu.descendants(root))]

    def _backends(self) -> dict[int, float]:
        if self._postmaster is None:
            return {}
        return self._per_pid(cpu.descendants(self._postmaster))

    def _per_pid(self, pids: list[int]) -> dict[int, float]:
        return {pid: cpu.cpu_seconds([pid]) for pid in pids}

    def _sample(self) -> tuple[float, float, float, float]:
        return (
            time.monotonic(),
            time.process_time(),
            _busy_seconds(),
            _reaped_seconds(self._postmaster),
        )

    def __enter__(self) -> "CpuWindow":
        self._before = self._per_pid(self._tested() + stack.backend_pids(self._db_url))
        self._backends_before = self._backends()
        self._roots_reaped = sum(map(_reaped_seconds, self._roots))
        self._started = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, own, busy, reaped = (
            after - before for before, after in zip(self._started, self._sample(), strict=True)
        )
        if wall <= 0 or busy < 0:
            return

        def used(pids: list[int]) -> float:
            return sum(
                max(seconds - self._before.get(pid, 0.0), 0.0)
                for pid, seconds in self._per_pid(pids).items()
            )

        alive = self._backends()
        closed = max(
            reaped
            - sum(seconds for pid, seconds in self._backends_before.items() if pid not in alive),
            0.0,
        )
        tested = used(self._tested()) + max(
            sum(map(_reaped_seconds, self._roots)) - self._roots_reaped, 0.0
        )
        database = used(stack.backend_pids(self._db_url)) + closed
        self.tested_seconds, self.database_seconds = tested, database
        others = max(busy - own - tested - database, 0.0) / wall
        log(
            f"{self.name}: CPUs used by the bench process (sink) {own / wall:.2f}, system under"
            f" test {tested / wall:.2f}, postgres {database / wall:.2f} (of which closed "
            f"connections {closed / wall:.2f}), other processes {others:.2f}"
        )
        if others >= NOISY_CPUS:
            self.note = f"  [noisy: other processes used {others:.1f} CPUs]"


def _field(name: str) -> str:
    return f"{name:<26}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms"


def _percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# nurture.tick_flat -----------------------------------------------------------------------


def _tick(env: dict[str, str], *, label: str) -> tuple[float, dict[str, float]]:
    done = subprocess.run(
        [
            str(stack.VENV_BIN / "python"),
            str(DRIVER),
            "tick",
            "--repeats",
            str(TICK_REPEATS),
            "--expect",
            str(TICK_DUE),
        ],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchFailure(f"tick driver failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["short"]:
        raise BenchFailure(
            f"{label}: hand_out_due claimed {result['short']} rows, not {TICK_DUE}: "
            "the figure would time a different amount of work"
        )
    runs = result["runs"]
    median = statistics.median(run["total"] for run in runs)
    parts = {
        name: statistics.median(run["parts"].get(name, 0.0) for run in runs)
        for name in runs[0]["parts"]
    }
    log(
        f"tick_flat {label}: median {_ms(median)} of "
        + ", ".join(_ms(run["total"]) for run in runs)
        + "; parts (median): "
        + ", ".join(f"{name} {_ms(seconds)}" for name, seconds in parts.items())
    )
    return median, parts


def _pick_due(db_url: str, *, total: int) -> None:
    """Exactly TICK_DUE scheduled rows due now, spread evenly through the table."""
    stride = total // TICK_DUE
    with _connect(db_url) as conn, conn.cursor() as cur:
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


def tick_flat(options: object) -> list[str]:
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
            scheduled = _scalar(
                db_url, "SELECT count(*) FROM nurture_delivery WHERE status = 'scheduled'"
            )
            log(
                f"tick_flat: {scheduled} scheduled rows loaded in "
                f"{time.monotonic() - started:.0f} s; timing"
            )
            sizes.append((scheduled, *_tick(env, label=f"{scheduled} rows")))
        stack.flush_redis(env)

    (small_rows, small, small_parts), (large_rows, large, large_parts) = sizes
    ratio = large / small if small else float("inf")
    growth = sorted(
        large_parts, key=lambda name: large_parts[name] - small_parts.get(name, 0.0), reverse=True
    )
    grew = ", ".join(
        f"{name} {_ms(small_parts.get(name, 0.0))} -> {_ms(large_parts[name])}"
        for name in growth[:3]
    )
    return [
        f"{_field('nurture.tick_flat')}{_ms(large)} with {TICK_DUE:,} due among "
        f"{large_rows:,} rows, {_ms(small)} among {small_rows:,} (baseline)  "
        f"ratio={ratio:.2f} (target <= 1.5)  [hand_out_due minus publishing, median of "
        f"{TICK_REPEATS}; grew most: {grew}]"
    ]


# nurture.send_throughput -----------------------------------------------------------------


def write_messages(sink: Sink, path: Path) -> Path:
    """What the sink kept, as the smtplib loop and the post_office peer read it."""
    path.write_text(
        json.dumps(
            [
                [mail_from, recipients, base64.b64encode(content).decode()]
                for mail_from, recipients, content in sink.kept
            ]
        )
    )
    return path


def _replay_over_one_connection(
    messages: Path, port: int, *, db_url: str
) -> tuple[float, CpuWindow]:
    """Seconds a plain smtplib loop takes to send `messages`, in a process of its own as the
    workers are, and the CPU window around the loop."""
    command = [str(stack.VENV_BIN / "python"), str(DRIVER), "smtp-loop", str(messages),
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=stack.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None  # noqa: S101
    try:
        if process.stdout.readline().strip() != "ready":
            raise BenchFailure("the smtplib loop could not connect to the sink")
        with CpuWindow("send_throughput loop", roots=[process.pid], db_url=db_url) as window:
            process.stdin.write("go\n")
            process.stdin.flush()
            result = json.loads(process.stdout.readline())
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return float(result["elapsed"]), window


def post_office_path() -> Path:
    """A folder holding django-post-office, installed on first use for the bench alone.

    `--no-deps`: its requirements, Django and nh3, are the app's own (requirements/base.lock),
    so the peer runs on the same Django. Installed beside and renamed into place, so two
    benches starting at once cannot see half an install.
    """
    target = PEER_DIR / POST_OFFICE_REQUIREMENT.replace("==", "-")
    if (target / "post_office" / "mail.py").is_file():
        return target
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=PEER_DIR))
    log(f"installing {POST_OFFICE_REQUIREMENT} into {target} (for the bench only)")
    done = subprocess.run(
        [
            str(stack.VENV_BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(staging),
            POST_OFFICE_REQUIREMENT,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BenchFailure(f"pip could not install {POST_OFFICE_REQUIREMENT}:\n{done.stderr}")
    try:
        staging.rename(target)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target


def post_office_database_url() -> str:
    parts = urllib.parse.urlsplit(stack.database_url())
    return parts._replace(path=f"{parts.path.rstrip('/')}_post_office").geturl()


@dataclass(frozen=True)
class PeerRun:
    seconds: float  # from the go to the last message at the sink
    sent: int  # post_office's Email rows marked sent
    recipients: list[str]  # as the sink received them
    window: CpuWindow


def post_office_peer(
    messages: Path,
    *,
    sink: Sink,
    port: int,
    db_url: str,
    var_dir: Path,
    processes: int | None = None,
) -> PeerRun:
    """django-post-office's `send_queued_mail` sending `messages` to the sink.

    Its own process and database (recreated), queued untimed through `mail.send_many`;
    the clock runs from the go to the last message at the sink, as for the worker.
    `processes` None: the command's defaults (1 process, 5 sending threads).
    """
    peer_path = post_office_path()
    stack.recreate_database(db_url)
    env = {name: os.environ[name] for name in stack._INHERITED if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="post_office_settings",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=db_url,
        POST_OFFICE_SMTP_PORT=str(port),
    )
    command = [
        str(stack.VENV_BIN / "python"),
        str(POST_OFFICE_DRIVER),
        str(messages),
        "--peer-path",
        str(peer_path),
        "--lockfile",
        str(var_dir / "post_office"),
    ]
    if processes is not None:
        command += ["--processes", str(processes)]
    log_path = var_dir / "post_office.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=stack.ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdin is not None and process.stdout is not None  # noqa: S101
    try:
        if process.stdout.readline().strip() != "ready":
            process.wait(timeout=30)
            raise BenchFailure(f"the post_office peer failed to queue:\n{stack._tail(log_path)}")
        before = len(sink)
        with CpuWindow("send_throughput post_office", roots=[process.pid], db_url=db_url) as window:
            started = time.monotonic()
            process.stdin.write("go\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            raise BenchFailure(f"the post_office peer failed to send:\n{stack._tail(log_path)}")
        result = json.loads(line)
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # aiosmtpd notes a message before it answers 250, so the command's return means every
    # message it sent is in `sink.arrivals`.
    arrivals = sink.arrivals[before:]
    seconds = (arrivals[-1][0] - started) if arrivals else float("inf")
    return PeerRun(
        seconds=seconds,
        sent=int(result["sent"]),
        recipients=[recipient for _, recipient in arrivals],
        window=window,
    )


def send_throughput(options: object) -> list[str]:
    """N queued deliveries through a real worker vs an smtplib loop and django-post-office
    sending the same mail to the same sink."""
    count = _env_int("BENCH_NURTURE_SENDS", 2000)
    # Unset: the management command's defaults (1 process of 5 threads, each with its own
    # connection); BENCH_POST_OFFICE_PROCESSES=2 matches the worker's two processes.
    peer_processes = _env_int("BENCH_POST_OFFICE_PROCESSES", 0) or None
    peer_setting = (
        f"--processes {peer_processes}" if peer_processes else "defaults: 1 process x 5 threads"
    )
    db_url = database_url()
    with (
        tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp,
        smtp_sink() as (sink, port),
    ):
        var_dir = Path(tmp)
        env = app_env(db_url=db_url, var_dir=var_dir, email_url=f"smtp://127.0.0.1:{port}")
        log(f"send_throughput: recreating {db_url}, migrate, seed_demo, {count} due rows")
        prepare_database(env)
        sequence = demo_sequence(db_url)
        # The warm-up rows are queued and published directly; the measured ones are due and
        # go the real way: the tick (hand_out_due) claims them and publishes send_batch tasks.
        add_leads(
            db_url,
            first=FIRST_LEAD_ID,
            count=SEND_WARM_UP,
            sequence=sequence,
            status="queued",
            due=sql.SQL("now()"),
            one_step_each=True,
        )
        add_leads(
            db_url,
            first=FIRST_LEAD_ID + SEND_WARM_UP,
            count=count,
            sequence=sequence,
            status="scheduled",
            due=sql.SQL("now() - interval '1 minute'"),
            one_step_each=True,
        )
        vacuum_analyze(db_url)
        warm_up = _ids(db_url, "SELECT id FROM nurture_delivery WHERE status = 'queued'")
        total = SEND_WARM_UP + count
        sender = sender_command()
        with celery_workers(
            env,
            count=1,
            concurrency=sender.concurrency,
            log_dir=var_dir,
            queues=SCALE_QUEUES,
            pool=sender.pool,
        ) as workers:
            log("send_throughput: worker ready; warming up")
            publish(warm_up)
            wait_for_mail(sink, total=len(warm_up), workers=workers, what="warm-up")
            sink.keep = True
            log(f"send_throughput: {count} due rows through the tick and the worker")
            with CpuWindow(
                "send_throughput worker", roots=workers.roots(), db_url=db_url
            ) as window:
                dispatcher = subprocess.Popen(
                    [
                        str(stack.VENV_BIN / "python"),
                        str(DRIVER),
                        "dispatch",
                        "--low-water",
                        env.get("NURTURE_DISPATCH_BATCH", "5000"),
                    ],
                    cwd=stack.ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                try:
                    wait_for_mail(sink, total=total, workers=workers, what="send_throughput")
                finally:
                    dispatcher.terminate()
                    dispatcher.communicate(timeout=30)
            # First to last measured arrival, as scale_100k: the dispatcher's own start
            # (Django's setup) is no part of sending.
            measured_arrivals = sink.arrivals[SEND_WARM_UP:total]
            worker_seconds = (
                (measured_arrivals[-1][0] - measured_arrivals[0][0]) * count / max(count - 1, 1)
            )
            sink.keep = False
            sent = _wait_until_sent(db_url, total)
        messages = write_messages(sink, var_dir / "messages.json")
        log(f"send_throughput: the same {count} messages through one smtplib connection")
        loop_seconds, loop_window = _replay_over_one_connection(messages, port, db_url=db_url)
        stack.flush_redis(env)
        peer_db_url = post_office_database_url()
        log(
            f"send_throughput: the same {count} messages through django-post-office's "
            f"send_queued_mail ({peer_setting}), database {peer_db_url}"
        )
        peer = post_office_peer(
            messages,
            sink=sink,
            port=port,
            db_url=peer_db_url,
            var_dir=var_dir,
            processes=peer_processes,
        )

    received = [recipient for _, recipient in sink.arrivals[SEND_WARM_UP:total]]
    worker_rate, loop_rate = count / worker_seconds, count / loop_seconds
    peer_rate = count / peer.seconds
    ratio = worker_rate / loop_rate
    lines = [
        f"{_field('nurture.send_throughput')}worker={worker_rate:.1f} msgs/s  smtplib loop="
        f"{loop_rate:.1f} msgs/s (baseline)  ratio={ratio:.2f} of the loop (target >= 0.5)  "
        f"peer_post_office={peer_rate:.1f} msgs/s  vs_post_office={worker_rate / peer_rate:.2f}x "
        f"(target >= 1.2)  [{count} messages, 1 worker --pool {sender.pool} --concurrency "
        f"{sender.concurrency}; post_office "
        f"{POST_OFFICE_REQUIREMENT.partition('==')[2]} send_queued_mail {peer_setting}]"
        + f"  [CPU per message, steadier than rates on a busy machine: worker "
        f"{_per_message(window, count)}, post_office {_per_message(peer.window, count)}, "
        f"loop {_per_message(loop_window, count)}]"
        + window.note.replace("[noisy:", "[noisy worker phase:")
        + loop_window.note.replace("[noisy:", "[noisy loop phase:")
        + peer.window.note.replace("[noisy:", "[noisy post_office phase:")
    ]
    problems = []
    if len(set(received)) != count or len(sink) != total + 2 * count:
        problems.append(
            f"the sink got {len(set(received))} distinct of {count} recipients from the worker "
            f"and {len(sink)} messages in all (expected {total + 2 * count})"
        )
    if sent != total:
        problems.append(f"{sent} of {total} deliveries are marked sent")
    if peer.sent != count or sorted(peer.recipients) != sorted(received):
        problems.append(
            f"post_office marked {peer.sent} of {count} emails sent and the sink got "
            f"{len(peer.recipients)} from it, not the worker's recipients"
        )
    if problems:
        raise BenchFailure("; ".join(problems), lines)
    return lines


def _per_message(window: CpuWindow, count: int) -> str:
    return (
        f"{window.tested_seconds * 1000 / count:.2f} ms + postgres "
        f"{window.database_seconds * 1000 / count:.2f} ms"
    )


def _wait_until_sent(db_url: str, expected: int, *, timeout: float = 15.0) -> int:
    """The sink has a message a moment before its worker records it as sent."""
    deadline = time.monotonic() + timeout
    while True:
        sent = _scalar(db_url, "SELECT count(*) FROM nurture_delivery WHERE status = 'sent'")
        if sent >= expected or time.monotonic() > deadline:
            return sent
        time.sleep(0.1)


# nurture.speed_to_lead -------------------------------------------------------------------


class _FormInputs(HTMLParser):
    """What a browser would send from the page's form, before the visitor types anything."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checkboxes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name")
        if not name or tag not in ("input", "select", "textarea"):
            return
        kind = attributes.get("type", "text") if tag == "input" else tag
        if kind == "radio":
            self.radios.setdefault(name, []).append(attributes.get("value", ""))
        elif kind == "checkbox":
            self.checkboxes.add(name)
        else:
            self.values[name] = attributes.get("value", "")


@dataclass
class _Visitor:
    fields: dict[str, str]
    headers: dict[str, str]
    answers: list[str] = field(default_factory=list)


def _visit_landing_page(client: httpx.Client) -> _Visitor:
    page = client.get(LANDING_PATH)
    token = page.cookies.get("csrftoken")
    client.cookies.clear()
    if page.status_code != 200 or not token:
        raise BenchFailure(f"GET {LANDING_PATH}: HTTP {page.status_code}, csrftoken {token!r}")
    form = _FormInputs()
    form.feed(page.text)
    fields = form.values
    if not fields.get("csrfmiddlewaretoken") or not fields.get("started"):
        raise BenchFailure("the landing page form lacks its CSRF token or started field")
    if "consent" in form.checkboxes:
        fields["consent"] = "on"
    fields.update(
        first_name="Speedy", last_name="Lead", company="Bench Ltd", time_zone="Europe/Berlin"
    )
    headers = {
        "Cookie": f"csrftoken={token}",
        "Origin": str(client.base_url).rstrip("/"),
        "Referer": str(page.url),
    }
    return _Visitor(fields=fields, headers=headers, answers=form.radios.get("answer", []))


def _arrival(sink: Sink, recipient: str, *, since: int, deadline: float, workers: Workers) -> float:
    """When the first message to `recipient` at or after index `since` reached the sink."""
    index = since
    while True:
        while index < len(sink.arrivals):
            arrived, to = sink.arrivals[index]
            if to == recipient:
                return arrived
            index += 1
        if time.monotonic() > deadline:
            raise BenchFailure(f"no email to {recipient} within {SPEED_TO_LEAD_TIMEOUT:g} s")
        workers.check_alive()
        time.sleep(0.002)


def speed_to_lead(options: object) -> list[str]:
    """Form POST through gunicorn to the Day-1 email at the sink, one submission at a time."""
    db_url = database_url()
    with (
        tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp,
        smtp_sink() as (sink, port),
    ):
        var_dir = Path(tmp)
        env = app_env(db_url=db_url, var_dir=var_dir, email_url=f"smtp://127.0.0.1:{port}")
        del env["STATIC_MANIFEST"]  # production static files, as the capture bench serves
        log(f"speed_to_lead: collectstatic, recreating {db_url}, migrate, seed_demo")
        prepare_database(env, collectstatic=True)
        posts: list[float] = []
        emails: list[float] = []
        with (
            celery_workers(env, count=1, concurrency=1, log_dir=var_dir) as workers,
            stack.gunicorn(env, workers=2, log_path=var_dir / "gunicorn.log") as server,
            httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client,
        ):
            visitor = _visit_landing_page(client)
            total = SPEED_TO_LEAD_WARM_UP + SPEED_TO_LEAD_SUBMISSIONS
            log(
                f"speed_to_lead: {total} submissions one at a time "
                f"({SPEED_TO_LEAD_WARM_UP} warm-up), each waiting for its Day-1 email"
            )
            with CpuWindow(
                "speed_to_lead", roots=[server.pid, *workers.roots()], db_url=db_url
            ) as window:
                for number in range(total):
                    recipient = f"stl-{number}-{uuid.uuid4().hex[:12]}@example.com"
                    data = {**visitor.fields, "email": recipient}
                    if visitor.answers:
                        data["answer"] = visitor.answers[number % len(visitor.answers)]
                    since = len(sink.arrivals)
                    started = time.monotonic()
                    response = client.post(LANDING_PATH, data=data, headers=visitor.headers)
                    answered = time.monotonic()
                    # A consultation page's thank-you URL carries the booking token (?t=).
                    location = urllib.parse.urlsplit(response.headers.get("Location", ""))
                    if not (response.status_code == 302 and location.path == THANKS_PATH):
                        raise BenchFailure(
                            f"POST {LANDING_PATH}: HTTP {response.status_code}, expected a 302 "
                            f"to {THANKS_PATH}"
                        )
                    arrived = _arrival(
                        sink,
                        recipient,
                        since=since,
                        workers=workers,
                        deadline=answered + SPEED_TO_LEAD_TIMEOUT,
                    )
                    if number >= SPEED_TO_LEAD_WARM_UP:
                        posts.append(answered - started)
                        emails.append(arrived - started)
            # Let a duplicate, if any, arrive before counting.
            time.sleep(1.0)
        stack.flush_redis(env)

    lines = [
        f"{_field('nurture.speed_to_lead')}p50={_ms(_percentile(emails, 50))} "
        f"p95={_ms(_percentile(emails, 95))} form POST to Day-1 email  form_post p50="
        f"{_ms(_percentile(posts, 50))} p95={_ms(_percentile(posts, 95))} (baseline)  "
        f"(target p95 < 2000ms)  [{len(emails)} submissions one at a time, 1 worker]" + window.note
    ]
    received = Counter(recipient for _, recipient in sink.arrivals)
    twice = sorted(recipient for recipient, times in received.items() if times > 1)
    others = sorted(recipient for recipient in received if not recipient.startswith("stl-"))
    if others:
        log(f"speed_to_lead: other mail reached the sink too: {others}")
    if twice:
        raise BenchFailure(f"{len(twice)} prospects got their email twice: {twice[:5]}", lines)
    return lines


# nurture.scale_100k ----------------------------------------------------------------------


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
    sent_before = _scalar(db_url, "SELECT count(*) FROM nurture_delivery WHERE status = 'sent'")
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
        queues=SCALE_QUEUES,
        pool=sender.pool,
    ) as workers:
        log(
            f"scale: {SCALE_WORKERS} worker -Q {SCALE_QUEUES} --pool {sender.pool} "
            f"--concurrency {sender.concurrency} ready; dispatching {rows} deliveries"
        )
        with PeakMemory(workers) as memory:
            dispatcher = subprocess.Popen(
                [
                    str(stack.VENV_BIN / "python"),
                    str(DRIVER),
                    "dispatch",
                    "--low-water",
                    env.get("NURTURE_DISPATCH_BATCH", "500"),
                ],
                cwd=stack.ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                with CpuWindow(
                    f"scale {rows}", roots=[dispatcher.pid, *workers.roots()], db_url=db_url
                ) as window:
                    wait_for_mail(sink, total=before + rows, workers=workers, what="scale")
            finally:
                dispatcher.terminate()
                stdout, _ = dispatcher.communicate(timeout=30)
        sent = _wait_until_sent(db_url, sent_before + rows) - sent_before
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
        cpu_per_email=_per_message(window, rows),
        note=window.note,
    )


def _megabytes(peak: dict[str, int]) -> str:
    return ", ".join(f"{kind.upper()} {peak[kind] / 2**20:.0f} MB" for kind in PeakMemory.KINDS)


def scale(options: object) -> list[str]:
    """Due deliveries sent end to end by one sending worker: emails/s and its peak memory
    (summed RSS, in all), at BENCH_NURTURE_SCALE rows and, as the baseline, at a fifth of that or
    10,000 rows."""
    total = _env_int("BENCH_NURTURE_SCALE", SCALE_DEFAULT)
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
        f"{_field('nurture.scale_100k')}{big.per_second:.1f} emails/s, worker's peak RSS "
        f"{rss / 2**20:.0f} MB in all (summed over its processes; PSS "
        f"{big.memory['pss'] / 2**20:.0f} MB, USS {big.memory['uss'] / 2**20:.0f} MB) at "
        f"{big.rows:,} rows  at {baseline.rows:,} rows (baseline): "
        f"{baseline.per_second:.1f} emails/s, RSS {base_rss / 2**20:.0f} MB  "
        f"rss ratio={rss_ratio:.2f} (target: send_throughput's rate, summed RSS < "
        f"{SCALE_MEMORY_TARGET / 2**20:.0f} MB: {met}, memory flat)  [CPU per email: worker "
        f"and dispatcher {big.cpu_per_email}]  [{SCALE_WORKERS} worker -Q {SCALE_QUEUES} "
        f"--pool {sender.pool} --concurrency {sender.concurrency}, {big.processes} "
        f"process(es), send_batch tasks of NURTURE_SEND_BATCH rows; RSS/PSS/USS from "
        f"/proc/<pid>/smaps_rollup{shrunk}]" + big.note + baseline.note
    ]
