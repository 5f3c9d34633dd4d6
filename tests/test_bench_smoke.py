"""The benchmarks' set-based loaders, run at a tiny size on the test database.

`make bench` runs by hand and rarely, and its loaders write raw INSERTs: a NOT NULL column
added without a database default breaks them, unseen until someone wants a figure. Here
every loader fills a few rows into today's schema, and the rows read back through the ORM.
The django-post-office peer of send_throughput sends three real emails, so a change to the
messages that the peer would mangle (or a post_office release that breaks it) shows here.
"""

import gc
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parseaddr
from pathlib import Path

import psycopg2
import pytest
import time_machine
from celery import signals
from django.core import mail
from django.db import connection
from django.test import TestCase
from psycopg2 import sql

from bench.drivers import journeys as journeys_driver
from bench.drivers import segments as segments_driver
from bench.figures import import_csv, nurture_common, nurture_send, sales, scoring
from bench.figures import journeys as journeys_figures
from bench.support import postgres
from bench.support.mail import smtp_sink
from bench.support.output import BenchFailure, Options
from capture.models import Activity, Lead
from leadfunnel.groups import SALES_REPS
from nurture.models import Delivery, Enrollment
from nurture.services.scheduling import enroll_lead
from sales.models import Handoff
from tests.factories import LeadFactory, UserFactory, playbook_sequence


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _run(statement: str, params: dict[str, object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db(transaction=True)  # the loader writes through its own connection
def test_it_loads_nurture_leads_enrollments_and_deliveries() -> None:
    steps = list(playbook_sequence().steps.filter(is_active=True).order_by("day"))
    url = _database_url()
    with postgres.connect(url) as conn, conn.cursor() as cur:
        assert postgres.unloaded_required_columns(cur, nurture_common.LOADED_COLUMNS) == []

    first = nurture_common.FIRST_LEAD_ID
    nurture_common.add_leads(
        url,
        first=first,
        count=3,
        sequence=nurture_common.demo_sequence(url),
        status=Delivery.Status.SCHEDULED,
        due=sql.SQL("now() + k * interval '1 day'"),
    )

    leads = list(Lead.objects.order_by("id"))
    expected = [f"lead-{n}@example.com" for n in range(first, first + 3)]
    assert [lead.email for lead in leads] == expected
    assert all(lead.last_activity_at == lead.created_at for lead in leads)
    assert Enrollment.objects.filter(lead__in=leads, state="active").count() == 3
    assert sorted(Delivery.objects.values_list("enrollment__lead_id", "step_id")) == sorted(
        (lead.id, step.id) for lead in leads for step in steps
    )


@pytest.mark.django_db
def test_it_loads_the_scoring_leads_and_activities() -> None:
    _run(scoring.LEADS_SQL, {"leads": 5})
    first_id = Lead.objects.order_by("id").values_list("id", flat=True)[0]
    _run(scoring.ACTIVITIES_SQL, {"leads": 5, "first_id": first_id})

    leads = list(Lead.objects.order_by("id"))
    assert [lead.company for lead in leads] == [f"Company {i}" for i in range(1, 6)]
    # The form submission, recorded at created_at, is each lead's activity the loader knows.
    assert all(lead.last_activity_at == lead.created_at for lead in leads)
    assert Activity.objects.filter(kind=Activity.Kind.FORM_SUBMITTED).count() == 5


@pytest.mark.django_db
def test_it_loads_the_sales_dashboard_data() -> None:
    UserFactory(username="sales", group=SALES_REPS)  # the loader hands hot leads to "sales"
    _run(sales.LEADS_SQL, {"leads": 20, "tie": sales.TIE_SCORE})
    first_id = Lead.objects.order_by("id").values_list("id", flat=True)[0]
    _run(sales.ACTIVITIES_SQL, {"leads": 20, "first_id": first_id, "activities": 200})
    for statement in (
        sales.LAST_ACTIVITY_SQL,
        sales.SCORE_CHANGES_SQL,
        sales.HANDOFFS_SQL,
    ):
        _run(statement, {})

    hot = list(Lead.objects.filter(temperature=Lead.Temperature.HOT).order_by("id"))
    assert [lead.email for lead in hot] == ["lead10@company10.example", "lead20@company20.example"]
    assert Handoff.objects.filter(lead__in=hot, rep__username="sales").count() == 2
    # Each lead's last activity is its newest activity (or its created time, when later).
    for lead in Lead.objects.all():
        newest = lead.activities.latest("occurred_at").occurred_at
        assert lead.last_activity_at == max(newest, lead.created_at)


@pytest.mark.django_db
def test_it_loads_the_import_baseline_and_existing_leads() -> None:
    _run(import_csv.BASELINE_SQL, {"rows": 3})
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        f"baseline{i}@example.net" for i in range(1, 4)
    ]
    _run(import_csv.EXISTING_SQL, {"existing": 3})
    assert Lead.objects.filter(email__startswith="row").count() == 3


@pytest.mark.django_db
def test_it_runs_the_journey_tick_benches_at_a_tiny_size() -> None:
    # bench/drivers/journeys.py loads its rows in SQL and times the real tick: both here.
    assert journeys_driver.unloaded_required_columns() == []
    full = journeys_driver.tick_100k(count=30, batch=10)
    assert (full["advanced"], full["claimed"], full["deliveries"]) == (30, 30, 30)
    assert (full["path_rows"], full["at_email"]) == (60, 30)
    # The floor made the same writes for its own (paused) copy, which the tick left alone.
    assert full["floored"] == 30
    assert full["floor_counts"] == {"path_rows": 60, "deliveries": 30, "at_email": 30}
    sparse = journeys_driver.tick_sparse(
        due=5, small=40, large=100, repeats=2, batch=10, first=2_000_000
    )
    assert (sparse["small"]["rows"], sparse["large"]["rows"]) == (40, 100)
    assert sparse["at_email"] == 5 * 3 * 2


def test_the_sparse_tick_says_when_its_small_table_cannot_give_every_run_its_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each run moves its due enrollments on for good: 10 waiting cannot give 6 runs of 5.
    monkeypatch.setenv("BENCH_JOURNEYS_SPARSE_DUE", "5")
    monkeypatch.setenv("BENCH_JOURNEYS_SPARSE_SMALL", "10")
    monkeypatch.setenv("BENCH_JOURNEYS_REPEATS", "5")
    with pytest.raises(BenchFailure, match="set it to at least 30"):
        journeys_figures.tick_sparse(Options(duration=1))


# The django-post-office peer of nurture.send_throughput -----------------------------------


def _day_one_emails(count: int) -> list[tuple[str, list[str], bytes]]:
    """What the worker sends, as the sink receives it: the real Day-1 emails of `count` leads."""
    sequence = playbook_sequence(weekdays=list(range(7)))
    with (
        time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        for number in range(count):
            enroll_lead(
                lead=LeadFactory(first_name=f"Zoë{number}", time_zone="Europe/Berlin"),
                sequence=sequence,
            )
    assert len(mail.outbox) == count
    # The envelope's addresses, as Django's SMTP backend gives them to the server.
    return [
        (
            parseaddr(message.from_email)[1],
            [parseaddr(recipient)[1] for recipient in message.recipients()],
            message.message(policy=policy.SMTP).as_bytes(),
        )
        for message in mail.outbox
    ]


def _drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


@pytest.mark.django_db
def test_django_post_office_sends_the_workers_messages_unchanged(tmp_path: Path) -> None:
    # The bench installs post_office into var/bench-peer/ on first use (pip, from PyPI).
    sent_by_worker = _day_one_emails(3)
    peer_url = f"{_database_url()}_bench_post_office"
    with smtp_sink() as (sink, port):
        sink.kept = sent_by_worker
        messages = nurture_send.write_messages(sink, tmp_path / "messages.json")
        sink.kept = []
        sink.keep = True
        try:
            run = nurture_send.post_office_peer(
                messages, sink=sink, port=port, db_url=peer_url, var_dir=tmp_path
            )
        finally:
            _drop_database(peer_url)

    assert run.sent == 3
    assert 0 < run.seconds < 60
    assert sorted(run.recipients) == sorted(r.lower() for _, (r,), _ in sent_by_worker)
    by_recipient = {recipients[0]: content for _, recipients, content in sink.kept}
    for _, (recipient,), content in sent_by_worker:
        ours = message_from_bytes(content, policy=policy.default)
        theirs = message_from_bytes(by_recipient[recipient], policy=policy.default)
        assert "Zoë" in ours["Subject"] and ours["List-Unsubscribe"] and ours["Feedback-ID"]
        for header in (
            "Subject",
            "From",
            "To",
            "Reply-To",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "Feedback-ID",
        ):
            assert theirs[header] == ours[header], header
        for kind in ("plain", "html"):
            body = ours.get_body((kind,)).get_content()  # type: ignore[union-attr]
            assert theirs.get_body((kind,)).get_content() == body, kind  # type: ignore[union-attr]


def test_a_worker_freezes_its_heap_before_each_fork() -> None:
    # Prefork children then keep sharing the parent's pages (scale_100k's memory figure).
    gc.unfreeze()
    try:
        signals.worker_before_create_process.send(sender=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


@pytest.mark.django_db
def test_it_runs_the_segment_bench_at_a_tiny_size() -> None:
    # bench/drivers/segments.py times a nested count and one lead's re-evaluation: both
    # here, on a few leads, so a change to the segment vocabulary that breaks its trees
    # shows up.
    hot = LeadFactory(temperature="hot", source="linkedin", score=60)
    cold = LeadFactory(temperature="cold")
    result = segments_driver.measure(repeats=2, lead_ids=[hot.pk, cold.pk])
    assert result["leads"] == 2
    assert result["count"] == [1], "the hot linkedin lead with score 60, only"
    assert result["refreshed"] == 2 and result["segments"] == len(segments_driver.SAVED)
    assert result["members_written"] >= 2  # the nested segment and "hot", for the hot lead
