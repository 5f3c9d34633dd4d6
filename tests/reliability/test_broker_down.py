"""Redis down: every prospect still gets the thank-you page and, once Redis is back, the
Day-1 email, exactly once. Real gunicorn, Celery worker and beat, PostgreSQL, aiosmtpd.

The request only stores (capture.processing): during the outage each submission waits in
the outbox, unannounced; once Redis is back the tick announces it (enrollment, Day-1)."""

import pytest

from capture.models import LandingPage, Lead, Submission
from nurture.models import Delivery
from tests.processes import (
    PrivateRedis,
    SmtpSink,
    Stack,
    app_env,
    form_session,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)
SUBMISSIONS = 100


def test_a_broker_outage_loses_no_lead_and_no_email(
    page: LandingPage, redis: PrivateRedis, smtp: SmtpSink
) -> None:
    port = free_port()
    stack = Stack(
        app_env(
            broker_url=redis.url,
            cache_url=redis.url,
            smtp_port=smtp.port,
            CAPTURE_RATE_LIMIT="100000/m",
        )
    )
    try:
        stack.web(port)
        stack.worker(supervised=True)
        stack.beat()
        client, hidden = form_session(f"http://127.0.0.1:{port}", page.slug)
        redis.stop()

        statuses = []
        for index in range(SUBMISSIONS):
            response = client.post(
                f"/l/{page.slug}/",
                data={
                    **hidden,
                    "email": f"outage{index}@example.com",
                    "first_name": "Ola",
                },
            )
            location = response.headers.get("location", "").partition("?")[0]
            statuses.append((response.status_code, location))
        assert statuses == [(302, f"/l/{page.slug}/thanks/")] * SUBMISSIONS, stack.tail()
        assert Lead.objects.count() == SUBMISSIONS
        assert Submission.objects.count() == SUBMISSIONS
        assert smtp.messages == []
        assert Submission.objects.filter(processed_at__isnull=True).count() == SUBMISSIONS
        assert not Delivery.objects.exists(), "announced by a worker, not in the request"

        redis.start()
        arrived = wait_until(lambda: len(smtp.messages) >= SUBMISSIONS, timeout=90)
        assert arrived, f"{len(smtp.messages)} of {SUBMISSIONS} arrived\n{stack.tail()}"
        wait_until(lambda: False, timeout=3)  # room for a duplicate to show up
        recipients = smtp.recipients()
        assert sorted(recipients) == sorted(f"outage{i}@example.com" for i in range(SUBMISSIONS))
        assert Delivery.objects.filter(step__day=1, status="sent").count() == SUBMISSIONS
        assert not Submission.objects.filter(processed_at__isnull=True).exists()
    finally:
        stack.stop_all()
