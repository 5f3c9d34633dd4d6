"""The bench's PostgreSQL helpers: throwaway databases, and statements outside Django."""

import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import psycopg2
from psycopg2 import sql

from .output import BenchFailure


def with_dbname(url: str, dbname: str) -> str:
    return urllib.parse.urlsplit(url)._replace(path=f"/{dbname}").geturl()


def suffixed(url: str, suffix: str) -> str:
    """The URL of a database named after `url`'s plus `suffix` (a figure's own database)."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}{suffix}").geturl()


@contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[Any]:
    """A connection that commits when the block ends without an exception."""
    conn = psycopg2.connect(url)
    conn.autocommit = autocommit
    try:
        yield conn
        if not autocommit:
            conn.commit()
    finally:
        conn.close()


def execute(url: str, *statements: str, params: dict[str, Any] | None = None) -> float:
    """Run statements in autocommit (VACUUM needs it); return the seconds they took."""
    with connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        for statement in statements:
            cursor.execute(statement, params)
        return time.perf_counter() - started


def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def scalar(url: str, query: str, params: Any = None) -> int:
    """The first column of the first row as an int; 0 for no row or NULL."""
    rows = fetch(url, query, params)
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def count_rows(url: str, table: str) -> int:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        (count,) = cursor.fetchone() or (0,)
    return int(count)


def recreate_database(url: str) -> None:
    """Drop and create the bench database, so every run starts from the same state."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        # A BENCH_DATABASE_URL pointing at a real database must not be wiped by a typo.
        raise BenchFailure(f"refusing to drop database {name!r}: its name lacks 'bench'")
    with connect(with_dbname(url, "postgres"), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def backend_pids(url: str) -> list[int]:
    """The server processes serving the other connections to this database."""
    return [
        int(pid)
        for (pid,) in fetch(
            url,
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    ]


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone() or (0,)
        try:
            # While connected: a closed connection's backend is gone.
            return psutil.Process(backend).ppid()
        except psutil.Error:
            return None  # PostgreSQL on another host: its processes are not ours to see


# The lead columns the set-based loaders fill (nurture's, the journeys driver's). A NOT NULL
# column without a database default added later must be added to a loader's columns: the
# check below says so instead of the loader failing with an opaque SQL error.
LEAD_COLUMNS = {
    "id",
    "uid",
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "time_zone",
    "answers",
    "consent_text",
    "source",
    "stage",
    "score",
    "temperature",
    "created_at",
    "updated_at",
    "last_activity_at",
}


def unloaded_required_columns(cur: Any, loaded: dict[str, set[str]]) -> list[str]:
    """The NOT NULL columns without a default of `loaded`'s tables that it does not fill."""
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s)"
        " AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
        (list(loaded),),
    )
    return sorted(f"{t}.{c}" for t, c in cur.fetchall() if c not in loaded[t])
