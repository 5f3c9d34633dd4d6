import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from capture.forms import _started_signer
from capture.models import LandingPage
from tests.factories import LandingPageFactory

# The data migrations whose rows a transactional test's flush removes and the next tests
# need: the two groups, their permissions, the default topic. Found by name in every
# app's migrations, so a new `grant_…` migration is restored without being listed here.
RESTORED = ("create_groups", "seed_default_topic")


def restored_data_migrations() -> list[Callable[..., None]]:
    """Those migrations' functions, in the order the migrations run."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    plan = [key for leaf in graph.leaf_nodes() for key in graph.forwards_plan(leaf)]
    functions: list[Callable[..., None]] = []
    for key in dict.fromkeys(plan):
        for operation in graph.nodes[key].operations:
            if not isinstance(operation, RunPython):
                continue
            name = operation.code.__name__
            if name.startswith("grant_") or name in RESTORED:
                functions.append(operation.code)
    return functions


def _restore_data_migrations() -> None:
    """Put back what data migrations wrote, which a transactional test's flush removes."""
    for function in restored_data_migrations():
        function(apps, None)


DEADLOCK_DETECTED = "40P01"


@pytest.fixture(scope="session", autouse=True)
def _flush_retries_a_deadlock() -> Iterator[None]:
    """A transactional test's flush tries again when PostgreSQL breaks a deadlock with it.

    The flush's TRUNCATE locks every table; a live-server request that arrives after the
    test (the tracking beacon a closed page sends) can hold one of them and want another.
    PostgreSQL then fails one of the two, and when that is the flush, the test fails with
    it though nothing it tested went wrong. The flush runs in one transaction, so it either
    emptied every table or none, and running it again is safe.
    """
    from django.core.management.base import CommandError
    from django.core.management.commands import flush

    handle = flush.Command.handle

    def deadlocked(error: BaseException) -> bool:
        cause: BaseException | None = error
        while cause is not None:
            if getattr(cause, "pgcode", None) == DEADLOCK_DETECTED:
                return True
            cause = cause.__cause__
        return False

    def retrying(self: flush.Command, **options: Any) -> None:
        for attempt in range(5):
            try:
                handle(self, **options)
                return
            except CommandError as error:
                if attempt == 4 or not deadlocked(error):
                    raise
                time.sleep(0.2 * (attempt + 1))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flush.Command, "handle", retrying)
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        _restore_data_migrations()


@pytest.fixture(autouse=True)
def _data_migrations_after_flush(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        _restore_data_migrations()


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Any) -> None:
    """Each test gets its own key space in the shared Redis (rate limits, xdist workers)."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture
def page(db: None) -> LandingPage:
    return LandingPageFactory()


def started_token(seconds_ago: float = 30) -> str:
    """The form's signed start time, as if the prospect opened it `seconds_ago`."""
    return _started_signer.sign(str(time.time() - seconds_ago))


def valid_form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines Ltd",
        "job_title": "Director of Engineering",
        "company_size": "50-249",
        "country": "GB",
        "phone": "+44 20 7946 0000",
        "answer": "Within a month",
        "consent": "on",
        "started": started_token(),
        "website": "",
        "time_zone": "Europe/London",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def submit(client: Client) -> Callable[..., Any]:
    """POST the capture form of `page` with valid data, overridden by keyword."""

    def _submit(page: LandingPage, *, query: str = "", **overrides: Any) -> Any:
        url = reverse("capture:landing_page", kwargs={"slug": page.slug}) + query
        return client.post(url, valid_form_data(**overrides))

    return _submit
