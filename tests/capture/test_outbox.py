"""The capture outbox: the request stores the submission and answers; a worker announces it
(scoring, enrollment, journeys, webhooks); what the broker never delivered, the tick does."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from capture import processing, queueing
from capture.models import Lead, Submission
from capture.signals import lead_captured
from nurture.models import Enrollment
from tests.conftest import valid_form_data
from tests.factories import EngagementRuleFactory, LandingPageFactory, playbook_sequence


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """What kombu raises when Redis or RabbitMQ cannot be reached."""
    import capture.tasks  # noqa: F401  (registers the task)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for name in (queueing.PROCESS_SUBMISSION, queueing.PROCESS_SUBMISSIONS):
        monkeypatch.setattr(current_app.tasks[name], "apply_async", refuse)


def _post(client: Client, page: Any, **data: Any) -> Any:
    url = reverse("capture:landing_page", args=[page.slug])
    return client.post(url, valid_form_data(**data))


@pytest.mark.django_db
def test_with_the_broker_down_the_prospect_is_answered_and_the_tick_enrolls_later(
    client: Client, broker_down: None, django_capture_on_commit_callbacks: Any
) -> None:
    page = LandingPageFactory()
    sequence = playbook_sequence(page=page)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, page)
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.processed_at is None and submission.created_lead is True
    assert not Enrollment.objects.exists(), "nothing after the store happened in the request"
    # Within the grace period the tick leaves it to the task that may still arrive.
    assert processing.pending_ids() == []
    later = timezone.now() + timedelta(seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert processing.process_pending(now=later) == 1
    submission.refresh_from_db()
    assert submission.processed_at is not None
    assert Enrollment.objects.get().sequence == sequence
    # Announced once: the tick again finds nothing, and a late task does nothing.
    assert processing.process_pending(now=later) == 0
    assert processing.process_submission(submission_id=submission.pk) is False
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_with_the_broker_up_the_worker_announces_it_at_once(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Tasks run inline here (CELERY_TASK_ALWAYS_EAGER), as a worker would run them.
    page = LandingPageFactory()
    playbook_sequence(page=page)
    EngagementRuleFactory(activity_kind="form_submitted", points=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, page).status_code == 302
    assert Submission.objects.get().processed_at is not None
    assert Enrollment.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.score > 0, "scored by the worker"


@pytest.mark.django_db
def test_a_failing_receiver_rolls_the_announcement_back_and_counts_an_attempt(
    client: Client, broker_down: None, django_capture_on_commit_callbacks: Any
) -> None:
    page = LandingPageFactory()
    playbook_sequence(page=page)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, page)
    submission = Submission.objects.get()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a receiver's bug")

    lead_captured.connect(broken, dispatch_uid="test.broken")
    try:
        assert processing.process_submission(submission_id=submission.pk) is False
    finally:
        lead_captured.disconnect(dispatch_uid="test.broken")
    submission.refresh_from_db()
    assert (submission.processed_at, submission.process_attempts) == (None, 1)
    assert not Enrollment.objects.exists(), "the enrollment made before the failure rolled back"
    with django_capture_on_commit_callbacks(execute=True):
        assert processing.process_submission(submission_id=submission.pk) is True
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_the_tick_gives_up_on_a_submission_after_max_attempts(client: Client) -> None:
    page = LandingPageFactory()
    submission = Submission.objects.create(
        lead=Lead.objects.create(email="x@example.com"),
        landing_page=page,
        process_attempts=processing.MAX_ATTEMPTS,
    )
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert processing.pending_ids() == []


@pytest.mark.django_db(transaction=True)
def test_a_task_and_the_tick_at_once_announce_a_submission_once(client: Client) -> None:
    page = LandingPageFactory()
    playbook_sequence(page=page)
    lead = Lead.objects.create(email="ada@example.com")
    submission = Submission.objects.create(lead=lead, landing_page=page, created_lead=True)
    announced: list[int] = []
    gate = threading.Barrier(2)
    slow = threading.Event()

    def count(**kwargs: Any) -> None:
        announced.append(kwargs["submission_id"])
        slow.wait(1)  # hold the row lock while the other one tries

    lead_captured.connect(count, dispatch_uid="test.count")
    results: list[bool] = []

    def run() -> None:
        gate.wait()
        try:
            results.append(processing.process_submission(submission_id=submission.pk))
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        slow.set()
        lead_captured.disconnect(dispatch_uid="test.count")
    assert sorted(results) == [False, True]
    assert announced == [submission.pk]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """What the web process's publishing thread sends, with eager mode off (as in
    production); each entry is the ids one task carries."""
    import capture.tasks  # noqa: F401  (registers the tasks)

    sent: list[list[int]] = []
    single = current_app.tasks[queueing.PROCESS_SUBMISSION]
    batch = current_app.tasks[queueing.PROCESS_SUBMISSIONS]
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(single, "apply_async", lambda args, **kw: sent.append([args[0]]))
    monkeypatch.setattr(batch, "apply_async", lambda args, **kw: sent.append(list(args[0])))
    yield sent
    assert queueing.flush()


def test_the_request_hands_the_wake_up_to_a_thread_that_publishes_it(
    published: list[list[int]],
) -> None:
    assert queueing.process_soon(7) is True
    assert queueing.flush()
    assert published == [[7]]


def test_a_spike_s_wake_ups_are_published_together_in_batches(
    published: list[list[int]],
) -> None:
    ids = list(range(100, 100 + 3 * queueing.WAKE_BATCH))
    for submission_id in ids:
        queueing.process_soon(submission_id)
    assert queueing.flush()
    assert sorted(i for batch in published for i in batch) == ids
    assert all(len(batch) <= queueing.WAKE_BATCH for batch in published)
    assert len(published) < len(ids) / 2


def test_with_the_broker_down_the_thread_gives_the_wake_ups_to_the_tick(
    monkeypatch: pytest.MonkeyPatch, broker_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    for submission_id in range(3):
        assert queueing.process_soon(submission_id) is True  # the request never waits on it
    assert queueing.flush()
    assert "wait for the tick" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_announces_what_the_thread_published(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = LandingPageFactory()
    playbook_sequence(page=page)
    # The published task runs as a worker would run it (here, in the thread that publishes).
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    import capture.tasks  # noqa: F401

    for name in (queueing.PROCESS_SUBMISSION, queueing.PROCESS_SUBMISSIONS):
        task = current_app.tasks[name]
        monkeypatch.setattr(task, "apply_async", lambda args, task=task, **kw: task(*args))
    response = _post(Client(), page)
    assert response.status_code == 302
    assert queueing.flush()
    assert Submission.objects.get().processed_at is not None
    assert Enrollment.objects.count() == 1
