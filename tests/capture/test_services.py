import threading
from typing import Any

import pytest
from django.db import DataError, connection

from capture.models import Activity, LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission, record_activity
from capture.signals import activity_recorded, lead_captured
from tests.factories import LandingPageFactory, LeadFactory


def _data(**overrides: Any) -> dict[str, Any]:
    return {"email": "grace@example.com", "first_name": "Grace", **overrides}


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_of_one_email_make_one_lead() -> None:
    page = LandingPageFactory()
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def submit(index: int) -> None:
        try:
            barrier.wait()
            capture_submission(
                page=page, data=_data(email=f" Grace@Example.com{' ' * index}"), tracking=Tracking()
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Lead.objects.count() == 1
    assert Lead.objects.get().email == "grace@example.com"
    assert Submission.objects.count() == workers
    assert Activity.objects.filter(kind="form_submitted").count() == workers


@pytest.mark.django_db
def test_the_result_says_whether_the_lead_is_new(page: LandingPage) -> None:
    first = capture_submission(page=page, data=_data(), tracking=Tracking())
    second = capture_submission(page=page, data=_data(), tracking=Tracking())
    assert first.created and not second.created
    assert first.lead.pk == second.lead.pk


@pytest.mark.django_db
def test_lead_captured_is_sent_on_commit_only(
    page: LandingPage, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    lead_captured.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = capture_submission(page=page, data=_data(), tracking=Tracking())
        assert received == [], "nothing is announced before the commit"
        for callback in callbacks:
            callback()
    finally:
        lead_captured.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["lead_id"] == result.lead.pk
    assert received[0]["submission_id"] == result.submission.pk
    assert received[0]["landing_page_id"] == page.pk
    assert received[0]["created"] is True


@pytest.mark.django_db
def test_a_failed_capture_leaves_nothing_behind(page: LandingPage) -> None:
    # The referrer overflows its column on the submission, after the lead row is written.
    with pytest.raises(DataError):
        capture_submission(page=page, data=_data(), tracking=Tracking(referrer="r" * 3000))
    assert not Lead.objects.exists()
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_the_ip_is_stored_only_as_a_keyed_hash(page: LandingPage) -> None:
    result = capture_submission(page=page, data=_data(), tracking=Tracking(ip="198.51.100.7"))
    assert result.submission.ip_hash
    assert "198.51.100.7" not in result.submission.ip_hash
    assert len(result.submission.ip_hash) == 64


@pytest.mark.django_db
def test_record_activity_announces_on_commit(django_capture_on_commit_callbacks: Any) -> None:
    lead = LeadFactory()
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    activity_recorded.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            activity = record_activity(
                lead=lead, kind=Activity.Kind.PAGE_VIEWED, metadata={"url": "/pricing"}
            )
    finally:
        activity_recorded.disconnect(receiver)
    assert activity.metadata == {"url": "/pricing"}
    assert activity.occurred_at is not None
    assert [(r["lead_id"], r["activity_id"], r["kind"]) for r in received] == [
        (lead.pk, activity.pk, "page_viewed")
    ]
