"""Redis down: every prospect still gets the thank-you page and, once Redis is back, the
Day-1 email, exactly once. Real gunicorn, Celery worker and beat, PostgreSQL, aiosmtpd."""

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
    stack = Stack(app_env(broker_url=redis.url, cache_url=redis.url, smtp_port=smtp.port,
                          CAPTURE_RATE_LIMIT="100000/m"))  # fmt: skip
    try:
        stack.web(port)
        stack.worker(supervised=True)
        stack.beat()
        client, hidden = form_session(f"http://127.0.0.1:{port}", page.slug)
        redis.stop()

        statuses = []
        for index in range(SUBMISSIONS):
            response = client.post(f"/l/{page.slug}/", data={
                **hidden, "email": f"outage{index}@example.com", "first_name": "Ola",
            })  # fmt: skip
            statuses.append((response.status_code, response.headers.get("location", "")))
        assert statuses == [(302, f"/l/{page.slug}/thanks/")] * SUBMISSIONS, stack.tail()
        assert Lead.objects.count() == SUBMISSIONS
        assert Submission.objects.count() == SUBMISSIONS
        assert smtp.messages == []
        assert Delivery.objects.filter(step__day=1, status="scheduled").count() == SUBMISSIONS

        redis.start()
        arrived = wait_until(lambda: len(smtp.messages) >= SUBMISSIONS, timeout=90)
        assert arrived, f"{len(smtp.messages)} of {SUBMISSIONS} arrived\n{stack.tail()}"
        wait_until(lambda: False, timeout=3)  # room for a duplicate to show up
        recipients = smtp.recipients()
        assert sorted(recipients) == sorted(f"outage{i}@example.com" for i in range(SUBMISSIONS))
        assert Delivery.objects.filter(step__day=1, status="sent").count() == SUBMISSIONS
    finally:
        stack.stop_all()
