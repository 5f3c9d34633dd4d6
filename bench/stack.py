"""The system under test: a throwaway PostgreSQL database and a gunicorn server on it."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import redis
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadfunnel_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BROKER_URL = "redis://127.0.0.1:6379/14"
DEMO_PASSWORD = "bench-password"
# Only these are inherited: the rest of the caller's environment (a DATABASE_URL, a
# CAPTURE_RATE_LIMIT, a GUNICORN_CMD_ARGS...) would make runs differ from machine to machine.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


class BenchFailure(Exception):
    """The run cannot give trustworthy figures; `lines` are those measured before it broke."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def server_env(*, database_url: str, var_dir: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
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
        CELERY_BROKER_URL=BROKER_URL,
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


def _with_dbname(url: str, dbname: str) -> str:
    return urllib.parse.urlsplit(url)._replace(path=f"/{dbname}").geturl()


def recreate_database(url: str) -> None:
    """Drop and create the bench database, so every run starts from the same state."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        # A BENCH_DATABASE_URL pointing at a real database must not be wiped by a typo.
        raise BenchFailure(f"refusing to drop database {name!r}: its name lacks 'bench'")
    conn = psycopg2.connect(_with_dbname(url, "postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def backend_pids(url: str) -> list[int]:
    """The server processes serving the other connections to this database."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [int(pid) for (pid,) in cur.fetchall()]
    finally:
        conn.close()


def count_rows(url: str, table: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            (count,) = cur.fetchone() or (0,)
    finally:
        conn.close()
    return int(count)


def manage(env: dict[str, str], *args: str) -> None:
    command = [str(VENV_BIN / "python"), "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailure(
            f"`{' '.join(command[1:])}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path) -> Iterator[Server]:
    """A running gunicorn on a free port; stopped with SIGTERM when the block ends."""
    port = _free_port()
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
        _wait_until_ready(process, f"{base_url}/bench/bare/", log_path=log_path)
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
                raise BenchFailure(f"gunicorn exited ({process.returncode}):\n{_tail(log_path)}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise BenchFailure(f"gunicorn did not answer {url} within 30 s:\n{_tail(log_path)}")


def stop(process: subprocess.Popen[bytes], *, log_path: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=40)
    except subprocess.TimeoutExpired as exc:
        raise BenchFailure(f"gunicorn ignored SIGTERM for 40 s:\n{_tail(log_path)}") from exc
    if returncode != 0:
        raise BenchFailure(f"gunicorn stopped with status {returncode}:\n{_tail(log_path)}")
