"""The capture as one SQL statement (PostgreSQL) against the same capture through the ORM
(the portable path SQLite takes): random submissions, the same rows either way; and what
the one statement promises on its own (one round trip, no transaction around it, prepared
once per connection)."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture import services
from capture.models import Activity, Campaign, LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission
from tests.factories import LandingPageFactory

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_emails = itertools.count()
# Values a field takes in a submission: "" is "not given" (a blank never overwrites).
TEXTS = ["", "", "Ada", "Grace", "ACME"]
ZONES = ["", "Europe/London", "America/New_York"]


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "data": {
            name: draw(st.sampled_from(TEXTS))
            for name in ("first_name", "last_name", "company", "job_title", "industry")
        }
        | {
            "country": draw(st.sampled_from(["", "GB", "DE"])),
            "time_zone": draw(st.sampled_from(ZONES)),
            "company_size": draw(st.sampled_from(["", "1-9", "50-249"])),
            "phone": draw(st.sampled_from(["", "+442079460000", "+12025550143"])),
        },
        # The page's consent wording changed between two visits (which one a lead keeps).
        "page": draw(st.sampled_from([0, 1])),
        "answer": draw(st.sampled_from(["", "Within a month", "Later"])),
        "utm_source": draw(st.sampled_from(["", "google", "linkedin"])),
        "utm_campaign": draw(st.sampled_from(["", "spring-ads", "unknown-key"])),
        "consent_given": draw(st.booleans()),
        "sms_consent_given": draw(st.booleans()),
        "minutes_later": draw(st.sampled_from([1, 5, -30])),  # -30: a clock that went back
        # The browser proves it is the lead (its cookie): latest wins; else blanks only.
        "proven": draw(st.booleans()),
    }


def _capture(page: LandingPage, email: str, step: dict[str, Any], at: datetime) -> Any:
    returning = Lead.objects.filter(email=email).first() if step["proven"] else None
    with time_machine.travel(at, tick=False):
        return capture_submission(
            page=page,
            data={"email": email, **step["data"]},
            tracking=Tracking(
                utm={"utm_source": step["utm_source"], "utm_campaign": step["utm_campaign"]},
                referrer="https://ads.example/",
                ip="198.51.100.7",
            ),
            answer=step["answer"],
            consent_given=step["consent_given"],
            sms_consent_given=step["sms_consent_given"],
            returning=returning,
        )


def _as_returned(instance: Lead | Submission) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _lead_row(lead: Lead) -> dict[str, Any]:
    row = Lead.objects.filter(pk=lead.pk).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "uid", "email")}


def _submission_rows(lead: Lead) -> list[dict[str, Any]]:
    rows = Submission.objects.filter(lead=lead).order_by("pk").values()
    return [
        {k: v for k, v in row.items() if k not in ("id", "lead_id", "data")}
        | {"data": {k: v for k, v in row["data"].items() if k != "email"}}
        for row in rows
    ]


def _activity_rows(lead: Lead) -> list[dict[str, Any]]:
    rows = (
        Activity.objects.filter(lead=lead).order_by("pk").values("kind", "occurred_at", "metadata")
    )
    return [
        {**row, "metadata": {k: v for k, v in row["metadata"].items() if k != "submission_id"}}
        for row in rows
    ]


def _pages() -> list[LandingPage]:
    campaign, _ = Campaign.objects.get_or_create(
        utm_campaign="page-own", defaults={"name": "Page's own"}
    )
    return [
        LandingPage.objects.filter(slug=slug).first()
        or LandingPageFactory(
            slug=slug,
            qualifying_question="When would you like to start?",
            consent_text=consent_text,
            campaign=campaign,
        )
        for slug, consent_text in [
            ("equal-rows", "Yes, contact me."),
            ("equal-rows-reworded", "Yes, contact me about my request."),
        ]
    ]


def _assert_no_consent_given_for_the_lead(before: Lead, after: Lead) -> None:
    """An unproven submission of a known lead: its email consent only fills a blank one, its
    SMS consent comes only with the phone number it filled in."""
    if before.consent_given_at is not None:
        assert (after.consent_given_at, after.consent_text) == (
            before.consent_given_at,
            before.consent_text,
        )
    if before.phone or not after.phone:
        assert (after.sms_consent_given_at, after.sms_consent_text) == (
            before.sms_consent_given_at,
            before.sms_consent_text,
        )


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(submissions(), min_size=1, max_size=4))
def test_the_statement_and_the_orm_store_the_same_rows(steps: list[dict[str, Any]]) -> None:
    pages = _pages()
    Campaign.objects.get_or_create(utm_campaign="spring-ads", defaults={"name": "Spring"})
    number = next(_emails)
    statement_email, orm_email = f"s{number}@example.com", f"o{number}@example.com"
    at = START
    for step in steps:
        at += timedelta(minutes=step["minutes_later"])
        page = pages[step["page"]]
        before = Lead.objects.filter(email=statement_email).first()
        by_statement = _capture(page, statement_email, step, at)
        with mock.patch.object(services, "_store_capture", services._store_capture_portably):
            by_orm = _capture(page, orm_email, step, at)
        assert (by_statement.created, by_statement.proven) == (by_orm.created, by_orm.proven)
        assert by_statement.submission.proven == by_statement.proven
        if before is not None and not step["proven"]:
            _assert_no_consent_given_for_the_lead(before, by_statement.lead)
        # What the caller gets back is the row as stored.
        for result in (by_statement, by_orm):
            assert (
                _as_returned(result.lead) == Lead.objects.filter(pk=result.lead.pk).values().get()
            )
            assert _as_returned(result.submission) == (
                Submission.objects.filter(pk=result.submission.pk).values().get()
            )
    statement_lead = Lead.objects.get(email=statement_email)
    orm_lead = Lead.objects.get(email=orm_email)
    assert _lead_row(statement_lead) == _lead_row(orm_lead)
    assert _submission_rows(statement_lead) == _submission_rows(orm_lead)
    assert _activity_rows(statement_lead) == _activity_rows(orm_lead)
    for submission in Submission.objects.filter(lead=statement_lead):
        activity = Activity.objects.get(metadata__submission_id=submission.pk)
        assert activity.lead_id == statement_lead.pk


@pytest.mark.django_db(transaction=True)
def test_a_capture_outside_a_transaction_is_one_statement_prepared_once() -> None:
    page = LandingPageFactory()
    connection.close()  # a new connection, on which nothing is prepared yet
    # The worker's part (run inline by the eager test setup) is not the request's.
    with mock.patch.object(services.queueing, "process_soon"):
        with CaptureQueriesContext(connection) as first:
            capture_submission(page=page, data={"email": "one@example.com"}, tracking=Tracking())
        with CaptureQueriesContext(connection) as second:
            result = capture_submission(
                page=page, data={"email": "two@example.com"}, tracking=Tracking()
            )
    # No BEGIN, SAVEPOINT or COMMIT around it: the statement is its own transaction.
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["PREPARE", "EXECUTE"]
    assert [q["sql"].split()[0] for q in second.captured_queries] == ["EXECUTE"]
    assert Submission.objects.get(pk=result.submission.pk).lead_id == result.lead.pk


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_lost_its_prepared_statement_prepares_it_again() -> None:
    page = LandingPageFactory()
    capture_submission(page=page, data={"email": "one@example.com"}, tracking=Tracking())
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does
    capture_submission(page=page, data={"email": "two@example.com"}, tracking=Tracking())
    assert Lead.objects.count() == 2 and Submission.objects.count() == 2
