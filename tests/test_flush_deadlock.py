"""The test database's flush survives a deadlock with a late request (tests/conftest.py's
`_flush_retries_a_deadlock`): a live-server request that arrives after a test can lock one
table and want another while the flush's TRUNCATE holds it."""

import re
import threading

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection, connections

from capture.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _truncated_tables() -> list[str]:
    statement = next(sql for sql in sql_flush(no_style(), connection) if "TRUNCATE" in sql)
    return re.findall(r'"([^"]+)"', statement)


def test_a_flush_that_deadlocks_with_a_late_request_is_run_again() -> None:
    LeadFactory()
    tables = _truncated_tables()
    first, last = tables[0], tables[-1]
    holding, done = threading.Event(), threading.Event()
    late_request: list[str] = []

    def request() -> None:
        # Like a request's statements: one table first, then (once the flush is waiting
        # behind it, holding the tables before it) one the flush already holds.
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f'SELECT count(*) FROM "{last}"')  # noqa: S608
                holding.set()
                threading.Event().wait(0.3)
                cursor.execute(f'SELECT count(*) FROM "{first}"')  # noqa: S608
                cursor.execute("COMMIT")
                late_request.append("committed")
        except Exception as error:  # the side PostgreSQL picked to fail, if not the flush
            late_request.append(type(error).__name__)
        finally:
            other.close()
            done.set()

    thread = threading.Thread(target=request)
    thread.start()
    assert holding.wait(5)
    # The flush waits longest, so its deadlock check runs first and it is the one failed;
    # without the retry this raises "couldn't be flushed".
    call_command("flush", interactive=False, verbosity=0)
    assert done.wait(10)
    thread.join()
    assert late_request == ["committed"]
    assert not Lead.objects.exists()
