"""A smaller run of `make bench`'s capture.load_10k: many clients, reused emails, gunicorn
with production settings on PostgreSQL and Redis. Zero 5xx, zero lost, dedupe exact."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.support import burst
from capture.models import LandingPage, Lead, Submission
from tests.processes import PrivateRedis, SmtpSink, Stack, app_env, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_burst_of_submissions_loses_nothing_and_dedupes_exactly(
    page: LandingPage, redis: PrivateRedis, smtp: SmtpSink
) -> None:
    port = free_port()
    stack = Stack(
        app_env(
            broker_url=redis.url, cache_url=redis.url, smtp_port=smtp.port, CAPTURE_RATE_LIMIT="0"
        )
    )
    try:
        stack.web(port, workers=3)
        # Its own thread: Playwright may keep an event loop running in this one (xdist).
        with ThreadPoolExecutor(max_workers=1) as pool:
            result = pool.submit(
                burst.submit_burst,
                base_url=f"http://127.0.0.1:{port}",
                path=f"/l/{page.slug}/",
                total=1000,
                concurrency=50,
                fields={"first_name": "Lo"},
            ).result()
    finally:
        stack.stop_all()
    assert result.server_errors == 0 and result.transport_errors == 0, stack.tail()
    assert result.successes == 1000, result.statuses
    assert Submission.objects.count() == 1000, "every answered submission is stored"
    assert len(result.emails) == 800, "one in five reuses an address"
    assert set(Lead.objects.values_list("email", flat=True)) == result.emails, "dedupe exact"
