"""Batch sending through an ESP (anymail's real Mailjet backend, against a local fake of the
Send API): one call per step and 50 recipients, each recipient's own values, headers and
message id, a refusal that fails its own row only, and the quotas still holding."""

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from capture.models import Lead
from leadfunnel.celery import app as celery_app
from nurture.models import Delivery, Enrollment, Sequence
from nurture.services.composing import build_message
from nurture.services.dispatching import hand_out, hand_out_due
from nurture.services.sending import send_batch
from tests.factories import StepFactory, playbook_sequence
from tests.nurture.fake_mailjet import API_KEY, SECRET_KEY, FakeMailjet, fake_mailjet
from tests.processes import ROOT, wait_until

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
# What a lead may type, each a trap for one encoding: markup, a link, a quote in an
# attribute, percent signs and ampersands in a URL, a would-be header, accents.
NAMES = [
    '<b>Bea</b> & "Co"',
    "[Win](https://evil.example/)",
    "Zoë O'Brien",
    "100% a&b=c",
    "Bea\r\nBcc: x@evil.example",
    "{{var:subject}}",
]


@pytest.fixture
def mailjet(settings: Any) -> Iterator[FakeMailjet]:
    with fake_mailjet() as fake:
        settings.MAILERS = {"default": {"BACKEND": "anymail.backends.mailjet.EmailBackend"}}
        settings.ANYMAIL = {
            "MAILJET_API_KEY": API_KEY,
            "MAILJET_SECRET_KEY": SECRET_KEY,
            "MAILJET_API_URL": fake.api_url,
        }
        settings.DEFAULT_FROM_EMAIL = "Acme <hello@leads.acme.com>"
        settings.NURTURE_REPLY_TO = "Acme Sales <sales@acme.com>"
        yield fake


def _queued(sequence: Sequence, *, day: int, count: int, prefix: str) -> list[Delivery]:
    step = sequence.steps.get(day=day)
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"{prefix}{i}@example.com",
            first_name=NAMES[i % len(NAMES)],
            last_name="Lovelace",
            company="Engines & Co",
        )
        for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(lead=lead, sequence=sequence, started_at=NOW - timedelta(days=3))
        for lead in leads
    )
    return Delivery.objects.bulk_create(
        Delivery(enrollment=e, step=step, due_at=NOW, status=Delivery.Status.QUEUED)
        for e in enrollments
    )


def _sequence() -> Sequence:
    sequence = playbook_sequence(weekdays=list(range(7)))
    # A button and a link carrying a merge field: each lead's own tracked, encoded address.
    StepFactory(
        sequence=sequence,
        day=9,
        subject="Ready, {{ first_name }}?",
        body="Hi {{ first_name }} at {{ company }}: [your page]"
        "(https://example.com/p?name={{ first_name }}) or [book]({{ booking_url }}).",
        cta_label="Book a call",
        cta_url="{{ booking_url }}",
    )
    return sequence


def test_one_call_per_step_and_fifty_gives_each_lead_its_own_email(mailjet: FakeMailjet) -> None:
    sequence = _sequence()
    rows = [
        *_queued(sequence, day=2, count=60, prefix="two"),
        *_queued(sequence, day=9, count=12, prefix="nine"),
    ]
    with time_machine.travel(NOW, tick=False):
        outcomes = send_batch(delivery_ids=[row.pk for row in rows])
        reloaded = Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "enrollment__lead", "enrollment__sequence", "step", "node"
        )
        expected = {row.enrollment.lead.email: build_message(delivery=row) for row in reloaded}
    assert Counter(outcomes.values()) == {"sent": 72}
    assert not mailjet.problems
    assert sorted(len(call["Messages"]) for call in mailjet.calls) == [10, 12, 50]
    assert sorted(mailjet.recipients()) == sorted(expected)
    for call in mailjet.calls:
        globals_ = call["Globals"]
        assert globals_["TemplateLanguage"] is True
        assert globals_["From"] == {"Email": "hello@leads.acme.com", "Name": "Acme"}
        assert globals_["ReplyTo"] == {"Email": "sales@acme.com", "Name": "Acme Sales"}
        assert globals_["Headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert globals_["Headers"]["Feedback-ID"].endswith(":nurture:leadfunnel")
        # The step is in the call once, not once a recipient.
        assert all(
            set(message) <= {"To", "Variables", "Headers", "EventPayload"}
            for message in call["Messages"]
        )
    delivered = Delivery.objects.filter(pk__in=[r.pk for r in rows])
    sent = {d.enrollment.lead.email: d for d in delivered.select_related("enrollment__lead")}
    for got in mailjet.rendered:
        single = expected[got.to]
        # Exactly what the one-at-a-time path composes for this lead (frozen time: the
        # same signed links), every hostile name encoded for where it stands.
        assert got.subject == single.subject
        assert got.text == single.body
        assert got.html == single.alternatives[0].content
        assert got.headers["List-Unsubscribe"] == single.extra_headers["List-Unsubscribe"]
        assert got.headers["Feedback-ID"] == single.extra_headers["Feedback-ID"]
        delivery = sent[got.to]
        assert json.loads(got.event_payload) == {"delivery": str(delivery.pk)}
        assert (delivery.status, delivery.message_id) == ("sent", got.message_id)
        assert delivery.attempts == 1
    assert len({d.message_id for d in sent.values()}) == 72, "each recipient its own id"
    marked_up = next(r for r in mailjet.rendered if r.to == "two0@example.com")
    assert "&lt;b&gt;Bea&lt;/b&gt; &amp; &quot;Co&quot;" in marked_up.html
    assert "<b>Bea</b>" not in marked_up.html and '<b>Bea</b> & "Co"' in marked_up.text
    linked = next(r for r in mailjet.rendered if r.to == "nine1@example.com")
    assert 'href="https://evil.example/' not in linked.html
    # A second copy of the task claims nothing and calls nobody.
    assert send_batch(delivery_ids=[row.pk for row in rows]) == {}
    assert len(mailjet.calls) == 3


def test_a_refused_address_fails_its_own_row_only(mailjet: FakeMailjet) -> None:
    rows = _queued(_sequence(), day=3, count=5, prefix="r")
    mailjet.refuse = {"r2@example.com"}
    with time_machine.travel(NOW, tick=False):
        outcomes = send_batch(delivery_ids=[row.pk for row in rows])
    assert len(mailjet.calls) == 1
    assert Counter(outcomes.values()) == {"sent": 4, "failed": 1}
    refused = Delivery.objects.get(enrollment__lead__email="r2@example.com")
    assert refused.status == "failed" and "refused by the ESP" in refused.last_error
    assert refused.message_id == ""
    others = Delivery.objects.exclude(pk=refused.pk).filter(pk__in=[r.pk for r in rows])
    assert set(others.values_list("status", flat=True)) == {"sent"}
    assert sorted(mailjet.recipients()) == sorted(f"r{i}@example.com" for i in (0, 1, 3, 4))


def test_an_esp_outage_retries_the_call_later_and_marks_nothing_sent(
    mailjet: FakeMailjet, settings: Any
) -> None:
    settings.NURTURE_RETRY_BASE_SECONDS = 60
    rows = _queued(_sequence(), day=5, count=4, prefix="o")
    mailjet.fail_with = 503
    with time_machine.travel(NOW, tick=False):
        outcomes = send_batch(delivery_ids=[row.pk for row in rows])
    assert Counter(outcomes.values()) == {"retry": 4}
    retried = Delivery.objects.filter(pk__in=[r.pk for r in rows])
    assert {(d.status, d.due_at, d.attempts) for d in retried} == {
        ("scheduled", NOW + timedelta(seconds=60), 1)
    }
    mailjet.fail_with = 0
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(status="queued")
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert Counter(send_batch(delivery_ids=[r.pk for r in rows]).values()) == {"sent": 4}
    assert sorted(mailjet.recipients()) == sorted(f"o{i}@example.com" for i in range(4))


def test_the_quotas_hold_with_batches(mailjet: FakeMailjet, settings: Any) -> None:
    settings.NURTURE_MAX_PER_HOUR = 30
    settings.NURTURE_MAX_PER_SECOND = 4
    settings.NURTURE_TICK_SECONDS = 5
    settings.NURTURE_DISPATCH_BATCH = 500
    sequence = _sequence()
    rows = _queued(sequence, day=2, count=45, prefix="q")
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(status="scheduled")
    with time_machine.travel(NOW, tick=False):
        result = hand_out_due()
    assert len(result.claimed) == 20, Delivery.objects.values_list("status", flat=True)[:3]
    # A tick takes 4 a second for 5 seconds, and each batch is one second's worth.
    assert len(mailjet.recipients()) == 20
    assert max(len(call["Messages"]) for call in mailjet.calls) == 4
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        hand_out_due()
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        hand_out_due()
    assert len(mailjet.recipients()) == 30, "the hour's 30, then nothing until it has passed"
    assert len(set(mailjet.recipients())) == 30
    assert Delivery.objects.filter(status="sent").count() == 30
    assert timezone.now() > NOW  # time was only frozen inside the blocks


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_batches_through_the_esp(settings: Any) -> None:
    """Rows due in PostgreSQL → send_batch tasks on the broker → a Celery worker (its own
    process, ESP=mailjet from the environment) → Mailjet calls → each row sent with its id."""
    sequence = _sequence()
    rows = _queued(sequence, day=2, count=120, prefix="w")
    with fake_mailjet() as fake:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "ESP": "mailjet",
            "ANYMAIL_MAILJET_API_KEY": API_KEY,
            "ANYMAIL_MAILJET_SECRET_KEY": SECRET_KEY,
            "ANYMAIL_MAILJET_API_URL": fake.api_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "leadfunnel",
                "worker",
                "-Q",
                "sending",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"esp-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
        )
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = False
        try:
            settings.NURTURE_SEND_BATCH = 100
            assert hand_out(delivery_ids=[row.pk for row in rows]) == 120
            assert wait_until(
                lambda: Delivery.objects.filter(status="sent").count() == 120, timeout=60
            ), Counter(Delivery.objects.values_list("status", flat=True))
        finally:
            celery_app.conf.task_always_eager = eager
            worker.terminate()
            worker.wait(timeout=30)
    assert not fake.problems
    # Two tasks of 100 and 20, each in calls of at most 50: 50 + 50 + 20.
    assert sorted(len(call["Messages"]) for call in fake.calls) == [20, 50, 50]
    assert sorted(fake.recipients()) == sorted(f"w{i}@example.com" for i in range(120))
    ids = {got.to: got.message_id for got in fake.rendered}
    for delivery in Delivery.objects.select_related("enrollment__lead"):
        assert delivery.message_id == ids[delivery.enrollment.lead.email]


def test_a_confirmation_request_and_untracked_links_come_out_as_single_emails(
    mailjet: FakeMailjet,
) -> None:
    # Untracked: a link's merge field is percent-encoded in the href itself; double opt-in:
    # the request to confirm, with each lead's own confirm link.
    sequence = _sequence()
    Sequence.objects.filter(pk=sequence.pk).update(track_engagement=False)
    sequence.refresh_from_db()
    untracked = _queued(sequence, day=9, count=6, prefix="u")
    confirming = _queued(sequence, day=1, count=3, prefix="c")
    Enrollment.objects.filter(deliveries__in=confirming).update(needs_confirmation=True)
    rows = [*untracked, *confirming]
    with time_machine.travel(NOW, tick=False):
        assert Counter(send_batch(delivery_ids=[r.pk for r in rows]).values()) == {"sent": 9}
        reloaded = Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "enrollment__lead", "enrollment__sequence", "step", "node"
        )
        expected = {row.enrollment.lead.email: build_message(delivery=row) for row in reloaded}
    assert not mailjet.problems
    assert sorted(len(call["Messages"]) for call in mailjet.calls) == [3, 6]
    for got in mailjet.rendered:
        single = expected[got.to]
        assert (got.subject, got.text, got.html) == (
            single.subject,
            single.body,
            single.alternatives[0].content,
        )
    confirm = next(r for r in mailjet.rendered if r.to == "c0@example.com")
    assert confirm.subject == "Please confirm your email address"
    assert "/c/" in confirm.text
    page = next(r for r in mailjet.rendered if r.to == "u2@example.com")
    assert "https://example.com/p?name=Zo%C3%AB%20O%27Brien" in page.text
