import os
import shutil
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.processes import PrivateRedis, SmtpSink, Stack, app_env, wait_until

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A person's browser: headless Chromium says "HeadlessChrome", which the click tracking
# rightly files under mail scanners.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(autouse=True)
def _database_quiet_before_the_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a live-server test, wait until no other connection is mid-transaction on the
    test database before pytest-django truncates it (its teardown runs after this one).

    A request thread of the live server, or a worker's last task, can still be writing when
    the test ends; its row locks against the flush's TRUNCATE are a deadlock PostgreSQL
    breaks by failing the flush, and the test with it. A request can also arrive just after
    the test: closing a page fires the tracking snippet's beacon (pagehide), so the database
    must stay quiet for a moment, not be quiet once; `_flush_retries_a_deadlock` (in
    tests/conftest.py) covers a request later still.
    """
    live = "live_server" in request.fixturenames
    if live:
        # Set up before this fixture, so torn down (flushed) after it.
        request.getfixturevalue("transactional_db")
    yield
    if not live:
        return
    from django.db import connection

    def quiet() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
                " AND state IN ('active', 'idle in transaction')"
            )
            return cursor.fetchone()[0] == 0

    quiet_since = [time.monotonic()]

    def quiet_for_a_moment() -> bool:
        if not quiet():
            quiet_since[0] = time.monotonic()
        return time.monotonic() - quiet_since[0] >= 0.5

    wait_until(quiet_for_a_moment, timeout=15, interval=0.05)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread for the session; the
    # ORM calls of tests and fixtures between browser steps are still synchronous code.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield from _chromium()


def _chromium() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (make test "
            "installs it when run as root)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=USER_AGENT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and page.console_errors.append(f"{message.text} at {message.location}")
        ),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and page.console_errors.append(f"{response.status} {response.url}")
        ),
    )
    yield page
    context.close()
    assert page.console_errors == [], f"console errors: {page.console_errors}"


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# --- shared helpers for the journeys -------------------------------------------------------

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # test-only, never served
SERIOUS = ("serious", "critical")


def check_a11y(page: Page, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # The app's Content-Security-Policy (script-src 'self') rightly refuses an inline
        # <script> (page.add_script_tag), so axe goes in through the DevTools protocol, as
        # the console would: the page's own policy stays on and is tested as it is.
        session = page.context.new_cdp_session(page)
        session.send("Runtime.evaluate", {"expression": _axe_source()})
        session.detach()
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
    )
    bad = [v for v in result if v["impact"] in SERIOUS]
    assert bad == [], f"{name}: accessibility violations: {bad}"


def _axe_source() -> str:
    return AXE.read_text()


def drop_expected(page: Page, *fragments: str) -> None:
    """Forget the 4xx answers a test provoked on purpose (bad input must get a 4xx)."""
    page.console_errors[:] = [  # type: ignore[attr-defined]
        error
        for error in page.console_errors  # type: ignore[attr-defined]
        if not any(fragment in error for fragment in fragments)
    ]


def watch(page: Page) -> Page:
    """The console/network error capture of the `page` fixture, for extra pages."""
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and page.console_errors.append(f"{message.text} at {message.location}")
        ),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and page.console_errors.append(f"{response.status} {response.url}")
        ),
    )
    return page


@pytest.fixture
def demo(settings: Any, monkeypatch: pytest.MonkeyPatch, live_server: Any) -> None:
    """seed_demo's page, sequence, scoring rules and logins; links in emails reach the server."""
    from django.core.management import call_command

    settings.CAPTURE_MIN_FILL_SECONDS = 0
    settings.SITE_URL = live_server.url
    settings.NURTURE_SCANNER_WINDOW_SECONDS = 0  # the test clicks sooner than people do
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


DEMO_PASSWORD = "e2e-demo-password"


@pytest.fixture
def sink(settings: Any) -> Iterator[SmtpSink]:
    """An aiosmtpd server; mail sent by the test process (eager tasks, views) goes there too."""
    with SmtpSink() as smtp:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": smtp.port, "timeout": 15},
            }
        }
        yield smtp


@pytest.fixture
def worker(sink: SmtpSink, live_server: Any) -> Iterator[Stack]:
    """A real Celery worker process on the test database and the sink, with Redis as broker.

    The live server runs in this process: with eager mode off, its tasks go to the broker.
    The broker is a Redis of the test's own, not the shared one: under xdist, two tests' workers
    on one queue would take each other's "send delivery N" messages (N in the other database).
    """
    from django.conf import settings

    from leadfunnel.celery import app as celery_app

    with PrivateRedis() as redis:
        env = app_env(
            broker_url=redis.url,
            cache_url=settings.REDIS_URL,
            smtp_port=sink.port,
            SITE_URL=live_server.url,
        )
        stack = Stack(env=env)
        stack.worker(concurrency=2, name="e2e-worker")
        eager, broker = celery_app.conf.task_always_eager, celery_app.conf.broker_url
        celery_app.conf.task_always_eager = False
        _use_broker(celery_app, redis.url)
        try:
            yield stack
        finally:
            celery_app.conf.task_always_eager = eager
            _use_broker(celery_app, broker)
            stack.stop_all()


def _use_broker(app: Any, url: str) -> None:
    """Point this process's Celery app at another broker (its pools are made lazily).

    Celery reads the CELERY_BROKER_URL variable before its own setting, so both change.
    """
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    # Dropped, not closed: kombu's global producer pools may still hold the old ones.
    app._pool = None
    app.amqp._producer_pool = None


def wait_for_mail(
    sink: SmtpSink, to: str, *, subject: str = "", timeout: float = 60, stack: Stack | None = None
) -> EmailMessage:
    """The newest message to `to` (whose subject contains `subject`), parsed."""

    def found() -> EmailMessage | None:
        with sink.lock:
            for received in reversed(sink.messages):
                if to in received.rcpt_tos:
                    message = message_from_bytes(received.content, policy=policy.default)
                    if subject in str(message["Subject"]):
                        return message  # type: ignore[return-value]
        return None

    if not wait_until(lambda: found() is not None, timeout=timeout, interval=0.2):
        logs = stack.tail() if stack else ""
        pytest.fail(f"no email {subject!r} to {to} within {timeout}s\n{logs}")
    return found()  # type: ignore[return-value]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
