"""End to end on the real engines: a Celery worker on Redis sends through an SMTP server."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from capture.services import Tracking, capture_submission
from leadfunnel.celery import app as celery_app
from nurture.models import Delivery
from tests.factories import LandingPageFactory, playbook_sequence

ROOT = Path(__file__).resolve().parents[2]


class Sink:
    """An SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def worker(smtp_sink: tuple[Sink, int]) -> Iterator[subprocess.Popen[bytes]]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink[1]}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadfunnel",
            "worker",
            "-Q",
            "celery,sending",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_day_one_email_within_seconds(
    worker: subprocess.Popen[bytes], smtp_sink: tuple[Sink, int]
) -> None:
    sink, _ = smtp_sink
    page = LandingPageFactory()
    playbook_sequence(page=page)
    started = time.monotonic()
    result = capture_submission(
        page=page,
        data={"email": "real.worker@example.com", "first_name": "Rita"},
        tracking=Tracking(),
    )

    deadline = started + 60  # generous: the worker process is still booting
    while not sink.messages and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker died"
        time.sleep(0.1)

    assert len(sink.messages) == 1, "the Day-1 email reached the SMTP server"
    envelope = sink.messages[0]
    assert envelope.rcpt_tos == ["real.worker@example.com"]
    parsed = message_from_bytes(envelope.content, policy=policy.default)
    assert parsed["Subject"] == "Day 1 for Rita"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = Delivery.objects.get(enrollment__lead=result.lead, step__day=1)
    for _ in range(50):
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.SENT:
            break
        time.sleep(0.1)
    assert delivery.status == Delivery.Status.SENT
    assert delivery.message_id == parsed["Message-ID"]
    assert Delivery.objects.filter(enrollment__lead=result.lead, status="scheduled").count() == 4
    time.sleep(1)
    assert len(sink.messages) == 1, "and only once"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
