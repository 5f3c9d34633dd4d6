"""Real Celery workers (`celery -A leadfunnel worker`) as subprocesses, and the broker."""

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from celery import Celery

from .accounting import descendants, tree
from .mail import Sink
from .output import BenchFailure
from .stack import ROOT, VENV_BIN, tail

SEND_TASK = "nurture.tasks.send_batch"
SEND_QUEUE = "sending"
SEND_BATCH = 100  # settings.NURTURE_SEND_BATCH's default
WORKER_STOP_SECONDS = 30
# A run with no new email for this long is stuck, not slow.
STALL_SECONDS = 60
COMPOSE_FILE = ROOT / "docker-compose.yml"


@dataclass
class Workers:
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    def pids(self) -> list[int]:
        return tree(self.roots())

    def check_alive(self) -> None:
        for process, log_path in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise BenchFailure(
                    f"celery worker exited ({process.returncode}):\n{tail(log_path)}"
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
    command = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["sender"]["command"]
    pool = command[command.index("--pool") + 1] if "--pool" in command else "prefork"
    concurrency = int(command[command.index("--concurrency") + 1])
    return WorkerCommand(pool=os.environ.get("BENCH_NURTURE_POOL") or pool, concurrency=concurrency)


def broker_app(broker_url: str) -> Celery:
    return Celery("nurture-bench", broker=broker_url)


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
            command = [str(VENV_BIN / "celery"), "-A", "leadfunnel", "worker", "-Q", queues]
            command += ["--pool", pool, "--concurrency", str(concurrency), "--loglevel", "WARNING"]
            command += ["--without-mingle", "--without-gossip", "--hostname", f"{name}@%h"]
            with log_path.open("w") as log_file:
                processes.append(
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
                    )
                )
        workers = Workers(processes=processes, logs=logs)
        _wait_for_ping(workers, names, broker_url=env["CELERY_BROKER_URL"])
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
            for pid in descendants(process.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def _wait_for_ping(workers: Workers, names: list[str], *, broker_url: str) -> None:
    app = broker_app(broker_url)
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
                f"celery worker ignored SIGTERM for {WORKER_STOP_SECONDS} s:\n{tail(log_path)}"
            ) from exc


def publish(delivery_ids: list[int], *, broker_url: str) -> None:
    """What `dispatching.hand_out` sends: one `send_batch` task per batch of rows, on the
    sending queue."""
    app = broker_app(broker_url)
    with app.producer_or_acquire() as producer:
        for start in range(0, len(delivery_ids), SEND_BATCH):
            batch = delivery_ids[start : start + SEND_BATCH]
            app.send_task(SEND_TASK, args=[batch], producer=producer, queue=SEND_QUEUE)


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
                f"{STALL_SECONDS} s; worker log:\n{tail(workers.logs[0])}"
            )
