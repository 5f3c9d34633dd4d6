"""A lead sales has gets nothing after the Day-1 confirmation from a hand-off sequence,
whatever order the facts arrive in. A real Celery worker on Redis sends to an SMTP sink;
the days between steps are skipped by moving each step's due time to now."""

from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from capture.models import Activity, LandingPage, Lead, Submission
from capture.services import record_activity
from leadfunnel.celery import app as celery_app
from nurture.models import Delivery, Enrollment, Sequence
from nurture.services.dispatching import claim_due_deliveries, hand_out, hand_out_due
from sales.services.leads import move_stage
from tests.factories import FitRuleFactory, LandingPageFactory, playbook_sequence, sales_rep
from tests.processes import SmtpSink, Stack, app_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def worker(django_db_setup: None, smtp: SmtpSink) -> Iterator[Stack]:
    """One real worker for the module, on the suite's Redis broker and the test database."""
    stack = Stack(
        app_env(
            broker_url=settings.CELERY_BROKER_URL, cache_url=settings.REDIS_URL, smtp_port=smtp.port
        )
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        stack.worker(concurrency=1)
        yield stack
    finally:
        celery_app.conf.task_always_eager = eager
        stack.stop_all()


@pytest.fixture
def sink(smtp: SmtpSink, worker: Stack) -> SmtpSink:
    with smtp.lock:
        smtp.messages.clear()
    return smtp


@pytest.fixture
def page(transactional_db: None) -> LandingPage:
    """A page whose five-day sequence hands hot leads to sales, any day and hour."""
    landing = LandingPageFactory(slug="handoff")
    sequence: Sequence = playbook_sequence(
        page=landing,
        hand_hot_leads_to_sales=True,
        weekdays=list(range(7)),
        window_start_hour=0,
        window_end_hour=24,
    )
    assert sequence.steps.count() == 5
    # A director is hot on sight (hot from 60).
    FitRuleFactory(name="Director", value="director", points=60)
    return landing


def _sign_up(submit: Callable[..., Any], page: LandingPage, *, job_title: str) -> Lead:
    response = submit(
        page,
        email="pat@example.com",
        first_name="Pat",
        job_title=job_title,
        answer="Just researching",
    )
    assert response.status_code == 302, response.content.decode()[:500]
    # The request only stores: the worker announces the submission (scores and enrolls).
    assert wait_until(
        lambda: Submission.objects.filter(
            lead__email="pat@example.com", processed_at__isnull=False
        ).exists(),
        timeout=30,
    )
    return Lead.objects.get(email="pat@example.com")


def _subjects(sink: SmtpSink, address: str) -> list[str]:
    with sink.lock:
        received = [message for message in sink.messages if address in message.rcpt_tos]
    return [message_from_bytes(m.content, policy=policy.default)["Subject"] for m in received]


def _settled(lead: Lead) -> bool:
    return not Delivery.objects.filter(
        enrollment__lead=lead, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
    ).exists()


def _day_one_arrives(sink: SmtpSink, worker: Stack, lead: Lead) -> None:
    assert wait_until(lambda: _subjects(sink, lead.email) == ["Day 1 for Pat"], timeout=60), (
        worker.tail()
    )
    assert wait_until(lambda: _settled(lead), timeout=10), worker.tail()


def _days_pass(lead: Lead, worker: Stack) -> None:
    """Every later step falls due, and the tick hands it to the worker."""
    Delivery.objects.filter(enrollment__lead=lead, status=Delivery.Status.SCHEDULED).update(
        due_at=timezone.now()
    )
    hand_out_due(limit=50)
    assert wait_until(lambda: _settled(lead), timeout=30), worker.tail()


def _rows(lead: Lead) -> list[tuple[int, str, str]]:
    deliveries = Delivery.objects.filter(enrollment__lead=lead).order_by("step__day")
    return list(deliveries.values_list("step__day", "status", "last_error"))


def _handed_over(lead: Lead) -> tuple[str, str]:
    enrollment = Enrollment.objects.get(lead=lead)
    return enrollment.state, enrollment.exit_reason


def test_it_sends_a_lead_hot_at_sign_up_only_the_confirmation(
    page: LandingPage, submit: Callable[..., Any], sink: SmtpSink, worker: Stack
) -> None:
    lead = _sign_up(submit, page, job_title="Director of Sales")
    lead.refresh_from_db()
    assert (lead.temperature, lead.stage) == ("hot", "sales_ready")

    _day_one_arrives(sink, worker, lead)
    _days_pass(lead, worker)

    assert _subjects(sink, lead.email) == ["Day 1 for Pat"]
    assert _rows(lead) == [(1, "sent", "")], "no later step was even written"
    assert _handed_over(lead) == ("exited", "handed_to_sales")


@pytest.mark.parametrize(
    ("sales_takes_it", "skipped"),
    [
        # Scoring's announcement exits the enrollment at once: the steps are cancelled.
        ("turns hot", []),
        # So does a rep's move to a sales stage (the lead page says so at once).
        ("a rep marks it contacted", []),
    ],
)
def test_it_stops_at_the_step_after_sales_takes_the_lead(
    page: LandingPage,
    submit: Callable[..., Any],
    sink: SmtpSink,
    worker: Stack,
    sales_takes_it: str,
    skipped: list[tuple[str, str]],
) -> None:
    lead = _sign_up(submit, page, job_title="Analyst")
    lead.refresh_from_db()
    assert lead.temperature == "cold"
    _day_one_arrives(sink, worker, lead)

    if sales_takes_it == "turns hot":
        FitRuleFactory(name="Analyst", value="analyst", points=60)
        record_activity(lead=lead, kind=Activity.Kind.PAGE_VIEWED, metadata={"url": "/pricing"})
    else:
        move_stage(lead_id=lead.pk, actor=sales_rep(), stage=Lead.Stage.CONTACTED)
    _days_pass(lead, worker)

    assert _subjects(sink, lead.email) == ["Day 1 for Pat"]
    rows = _rows(lead)
    assert rows[0] == (1, "sent", "")
    # The four later steps fell due together: whichever the worker took first was skipped
    # and its exit cancelled the rest.
    cancelled = [("cancelled", "")] * (4 - len(skipped))
    assert sorted((status, reason) for _, status, reason in rows[1:]) == cancelled + skipped
    assert _handed_over(lead) == ("exited", "handed_to_sales")


def test_the_send_task_catches_a_lead_turning_hot_after_its_email_was_queued(
    page: LandingPage, submit: Callable[..., Any], sink: SmtpSink, worker: Stack
) -> None:
    lead = _sign_up(submit, page, job_title="Analyst")
    _day_one_arrives(sink, worker, lead)
    Delivery.objects.filter(enrollment__lead=lead, step__day=2).update(due_at=timezone.now())
    claimed = claim_due_deliveries(limit=10)
    assert Delivery.objects.get(pk__in=claimed).status == "queued"

    # Scoring's UPDATE has committed; its announcement (the exit) has not reached nurture
    # yet: the instant in which only the send task's own re-check stands in the way.
    Lead.objects.filter(pk=lead.pk).update(score=75, temperature="hot", stage="sales_ready")
    hand_out(delivery_ids=claimed)
    assert wait_until(lambda: _settled(lead), timeout=30), worker.tail()

    assert _subjects(sink, lead.email) == ["Day 1 for Pat"]
    assert _rows(lead) == [
        (1, "sent", ""),
        (2, "skipped", "handed to sales: lead is hot"),
        (3, "cancelled", ""),
        (5, "cancelled", ""),
        (7, "cancelled", ""),
    ]
    assert _handed_over(lead) == ("exited", "handed_to_sales")
