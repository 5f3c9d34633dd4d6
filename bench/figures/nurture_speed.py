"""nurture.speed_to_lead: form POST through gunicorn to the Day-1 email at the sink, one
submission at a time; see bench/README.md.

It stays on httpx, not wrk: each submission waits for its own email at the sink before the
next is sent, per-request logic a load generator does not have.
"""

import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

import httpx

from ..support import stack
from ..support.accounting import CpuWindow
from ..support.forms import visit
from ..support.mail import Sink, smtp_sink
from ..support.output import BenchFailure, Options, label, log
from ..support.stats import percentile
from ..support.workers import Workers, celery_workers
from .nurture_common import app_env, database_url, ms, prepare_database

SPEED_TO_LEAD_SUBMISSIONS = 200
SPEED_TO_LEAD_WARM_UP = 5
SPEED_TO_LEAD_TIMEOUT = 30.0


def _arrival(sink: Sink, recipient: str, *, since: int, deadline: float, workers: Workers) -> float:
    """When the first message to `recipient` at or after index `since` reached the sink."""
    index = since
    while True:
        while index < len(sink.arrivals):
            arrived, to = sink.arrivals[index]
            if to == recipient:
                return arrived
            index += 1
        if time.monotonic() > deadline:
            raise BenchFailure(f"no email to {recipient} within {SPEED_TO_LEAD_TIMEOUT:g} s")
        workers.check_alive()
        time.sleep(0.002)


def speed_to_lead(options: Options) -> list[str]:
    """Form POST through gunicorn to the Day-1 email at the sink, one submission at a time."""
    db_url = database_url()
    with (
        tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp,
        smtp_sink() as (sink, port),
    ):
        var_dir = Path(tmp)
        env = app_env(db_url=db_url, var_dir=var_dir, email_url=f"smtp://127.0.0.1:{port}")
        del env["STATIC_MANIFEST"]  # production static files, as the capture bench serves
        log(f"speed_to_lead: collectstatic, recreating {db_url}, migrate, seed_demo")
        prepare_database(env, collectstatic=True)
        posts: list[float] = []
        emails: list[float] = []
        with (
            celery_workers(env, count=1, concurrency=1, log_dir=var_dir) as workers,
            stack.gunicorn(env, workers=2, log_path=var_dir / "gunicorn.log") as server,
            httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client,
        ):
            visitor = visit(client, first_name="Speedy", last_name="Lead", company="Bench Ltd")
            answers = visitor.form.answers
            total = SPEED_TO_LEAD_WARM_UP + SPEED_TO_LEAD_SUBMISSIONS
            log(
                f"speed_to_lead: {total} submissions one at a time "
                f"({SPEED_TO_LEAD_WARM_UP} warm-up), each waiting for its Day-1 email"
            )
            with CpuWindow(
                "speed_to_lead", roots=[server.pid, *workers.roots()], db_url=db_url
            ) as window:
                for number in range(total):
                    recipient = f"stl-{number}-{uuid.uuid4().hex[:12]}@example.com"
                    data = {**visitor.form.fields, "email": recipient}
                    if answers:
                        data["answer"] = answers[number % len(answers)]
                    since = len(sink.arrivals)
                    started = time.monotonic()
                    response = client.post(stack.LANDING_PATH, data=data, headers=visitor.headers)
                    answered = time.monotonic()
                    # A consultation page's thank-you URL carries the booking token (?t=).
                    location = urllib.parse.urlsplit(response.headers.get("Location", ""))
                    if not (response.status_code == 302 and location.path == stack.THANKS_PATH):
                        raise BenchFailure(
                            f"POST {stack.LANDING_PATH}: HTTP {response.status_code}, "
                            f"expected a 302 to {stack.THANKS_PATH}"
                        )
                    arrived = _arrival(
                        sink,
                        recipient,
                        since=since,
                        workers=workers,
                        deadline=answered + SPEED_TO_LEAD_TIMEOUT,
                    )
                    if number >= SPEED_TO_LEAD_WARM_UP:
                        posts.append(answered - started)
                        emails.append(arrived - started)
            # Let a duplicate, if any, arrive before counting.
            time.sleep(1.0)
        stack.flush_redis(env)

    lines = [
        f"{label('nurture.speed_to_lead')}p50={ms(percentile(emails, 50))} "
        f"p95={ms(percentile(emails, 95))} form POST to Day-1 email  form_post p50="
        f"{ms(percentile(posts, 50))} p95={ms(percentile(posts, 95))} (baseline)  "
        f"(target p95 < 2000ms)  [{len(emails)} submissions one at a time, 1 worker]" + window.note
    ]
    received = Counter(recipient for _, recipient in sink.arrivals)
    twice = sorted(recipient for recipient, times in received.items() if times > 1)
    others = sorted(recipient for recipient in received if not recipient.startswith("stl-"))
    if others:
        log(f"speed_to_lead: other mail reached the sink too: {others}")
    if twice:
        raise BenchFailure(f"{len(twice)} prospects got their email twice: {twice[:5]}", lines)
    return lines
