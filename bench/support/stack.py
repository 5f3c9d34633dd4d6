"""The system under test: its environment, `manage.py`, a gunicorn server, the drivers."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from .output import BenchFailure
from .postgres import recreate_database

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadfunnel_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
DEMO_PASSWORD = "bench-password"
BARE_PATH = "/bench/bare/"
LANDING_PATH = "/l/free-consultation/"
THANKS_PATH = "/l/free-consultation/thanks/"
# Only these are inherited: the rest of the caller's environment (a DATABASE_URL, a
# CAPTURE_RATE_LIMIT, a GUNICORN_CMD_ARGS...) would make runs differ from machine to machine.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, or `default` when unset."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise BenchFailure(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def inherited_env() -> dict[str, str]:
    return {name: os.environ[name] for name in INHERITED if name in os.environ}


def server_env(*, database_url: str, var_dir: Path) -> dict[str, str]:
    env = inherited_env()
    env.update(
        DJANGO_SETTINGS_MODULE="leadfunnel.settings",
        PYTHONUNBUFFERED="1",
        VAR_DIR=str(var_dir),
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-never-used-outside-make-bench-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER_URL),
        EMAIL_URL="dummymail://",
        CAPTURE_RATE_LIMIT="0",
        CAPTURE_MIN_FILL_SECONDS="0",
        BENCH_ENDPOINTS="1",
        DEMO_PASSWORD=DEMO_PASSWORD,
    )
    return env


def flush_redis(env: dict[str, str]) -> None:
    """Empty the bench's cache and broker databases: no worker drains the tasks it queues."""
    for url in (env["REDIS_URL"], env["CELERY_BROKER_URL"]):
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()


def manage(env: dict[str, str], *args: str) -> str:
    """`manage.py ARGS` with `env`; its stdout."""
    command = [PYTHON, "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailure(
            f"`{' '.join(command[1:])}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def demo_database(env: dict[str, str], *, collectstatic: bool = True) -> None:
    """`env`'s database dropped, recreated, migrated and given the demo; Redis flushed."""
    # DEBUG=0 names static files through the manifest, which collectstatic writes; first,
    # because anything that imports the URLconf (migrate's checks) may already need it.
    if collectstatic:
        manage(env, "collectstatic", "--noinput", "-v0")
    recreate_database(env["DATABASE_URL"])
    flush_redis(env)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo")


def driver_command(driver: str, *args: str) -> list[str]:
    """A driver (bench/drivers/DRIVER.py) as a module, run from the repository root."""
    return [PYTHON, "-m", f"bench.drivers.{driver}", *args]


def run_driver(env: dict[str, str], driver: str, *args: str) -> str:
    """Run a driver to its end; the JSON line it printed last."""
    done = subprocess.run(
        driver_command(driver, *args),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchFailure(
            f"{driver} driver failed ({done.returncode}):\n{done.stdout[-1000:]}"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path) -> Iterator[Server]:
    """A running gunicorn on a free port; stopped with SIGTERM when the block ends."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        str(VENV_BIN / "gunicorn"),
        "leadfunnel.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(process, f"{base_url}{BARE_PATH}", log_path=log_path)
        yield Server(base_url=base_url, pid=process.pid)
        stop(process, log_path=log_path)
    finally:
        if process.poll() is None:
            # Failure path: SIGKILL on the master alone would orphan its workers.
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, *, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchFailure(f"gunicorn exited ({process.returncode}):\n{tail(log_path)}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise BenchFailure(f"gunicorn did not answer {url} within 30 s:\n{tail(log_path)}")


def stop(process: subprocess.Popen[bytes], *, log_path: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=40)
    except subprocess.TimeoutExpired as exc:
        raise BenchFailure(f"gunicorn ignored SIGTERM for 40 s:\n{tail(log_path)}") from exc
    if returncode != 0:
        raise BenchFailure(f"gunicorn stopped with status {returncode}:\n{tail(log_path)}")
