"""PostgreSQL drops the app's connections mid-traffic: the app recovers on its own
(CONN_HEALTH_CHECKS), and every submission answered with success is stored."""

import threading

import pytest
from django.db import connection

from capture.models import LandingPage, Lead, Submission
from tests.processes import PrivateRedis, SmtpSink, Stack, app_env, form_session, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate_app_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_the_app_survives_its_connections_being_killed(
    page: LandingPage, redis: PrivateRedis, smtp: SmtpSink
) -> None:
    port = free_port()
    stack = Stack(
        app_env(
            broker_url=redis.url,
            cache_url=redis.url,
            smtp_port=smtp.port,
            CAPTURE_RATE_LIMIT="0",
            CONN_MAX_AGE="600",
        )
    )
    answered: list[tuple[str, int]] = []
    killed = 0
    try:
        stack.web(port)
        client, hidden = form_session(f"http://127.0.0.1:{port}", page.slug)
        stop = threading.Event()

        def killer() -> None:
            nonlocal killed
            while not stop.wait(0.3):
                killed += _terminate_app_connections()

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            for index in range(150):
                email = f"restart{index}@example.com"
                data = {**hidden, "email": email, "first_name": "Pg"}
                response = client.post(f"/l/{page.slug}/", data=data)
                answered.append((email, response.status_code))
        finally:
            stop.set()
            thread.join()
            connection.close()
        data = {**hidden, "email": "after@example.com", "first_name": "Pg"}
        after = client.post(f"/l/{page.slug}/", data=data)
    finally:
        stack.stop_all()
    assert killed > 0, "connections really were terminated"
    succeeded = {email for email, status in answered if status == 302}
    stored = set(Lead.objects.values_list("email", flat=True))
    assert succeeded <= stored, "no success without a stored lead"
    assert Submission.objects.filter(lead__email__in=succeeded).count() == len(succeeded)
    assert len(succeeded) >= 100, f"recovers after each kill: {len(succeeded)} of 150"
    assert after.status_code == 302, "no restart needed"
