"""A fact is announced one way (leadfunnel.announce): on commit, to every receiver, each
failure logged with the lead's id and none of them raised into the request that wrote it."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from rest_framework.test import APIClient

from capture.models import Lead
from capture.services import import_leads
from capture.signals import activities_recorded
from leadfunnel.announce import announce, announce_on_commit
from nurture.models import Node, PathStep
from nurture.services import actions, advancing, journeys, triggers
from nurture.signals import journey_action
from sales.signals import lead_created
from scoring.services import rescore_all_leads, score_lead, score_leads
from scoring.signals import score_changed, temperature_changed
from segments.models import Segment
from segments.services import refresh_lead
from segments.signals import segment_joined
from tests.factories import FitRuleFactory, LeadFactory, UserFactory, marketer
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks import receivers as webhook_receivers


def _broken(**facts: Any) -> None:
    raise RuntimeError("the receiver's own bug")


@pytest.fixture
def broken_first() -> Iterator[None]:
    """A raising receiver of `lead_created`, connected before the webhooks' one."""
    uid = "webhooks.lead_created_by_hand"
    lead_created.disconnect(dispatch_uid=uid)
    lead_created.connect(_broken, dispatch_uid="tests.broken")
    lead_created.connect(webhook_receivers.lead_created, dispatch_uid=uid)
    yield
    lead_created.disconnect(dispatch_uid="tests.broken")


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver listens on 127.0.0.1
    settings.WEBHOOKS_TIMEOUT_SECONDS = 2.0
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


# A real commit: on-commit callbacks run inside the request, as in production.
@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_raises_leaves_the_api_create_answered_and_the_webhook_sent(
    broken_first: None, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    EndpointFactory(url=receiver.url, secret=receiver.secret)
    client = APIClient()
    client.force_authenticate(marketer())
    with caplog.at_level(logging.ERROR, logger="leadfunnel.announce"):
        response = client.post("/api/v1/leads/", {"email": "ada@example.com"}, format="json")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="ada@example.com")
    [got] = receiver.of_type("lead.created")
    assert got.json["data"]["lead"]["email"] == "ada@example.com"
    [record] = [r for r in caplog.records if r.name == "leadfunnel.announce"]
    assert f"lead {lead.pk}" in record.getMessage()
    assert "tests.test_announce._broken" in record.getMessage()
    assert record.exc_info and str(record.exc_info[1]) == "the receiver's own bug"


def test_announce_sends_to_every_receiver_and_returns_their_replies() -> None:
    fact = Signal()
    heard: list[int] = []
    fact.connect(_broken, dispatch_uid="broken", weak=False)
    fact.connect(lambda lead_id, **kw: heard.append(lead_id), dispatch_uid="ok", weak=False)
    replies = announce(fact, Lead, lead_id=7)
    assert heard == [7]
    assert [type(reply) for _, reply in replies] == [RuntimeError, type(None)]


@pytest.mark.django_db
def test_announce_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks: Any) -> None:
    fact = Signal()
    heard: list[int] = []
    fact.connect(lambda lead_id, **kw: heard.append(lead_id), dispatch_uid="ok", weak=False)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        announce_on_commit(fact, Lead, lead_id=3)
        assert heard == []
    assert heard == [3]


# Every service that announces goes through announce: a receiver that raises is logged with
# the lead(s) it was about, and the receivers after it still hear the fact.


@contextmanager
def _broken_then_heard(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    heard: list[dict[str, Any]] = []
    signal.connect(_broken, dispatch_uid="tests.broken", weak=False)
    signal.connect(lambda **facts: heard.append(facts), dispatch_uid="tests.heard", weak=False)
    try:
        yield heard
    finally:
        signal.disconnect(dispatch_uid="tests.broken")
        signal.disconnect(dispatch_uid="tests.heard")


def _failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "leadfunnel.announce"
        and "tests.test_announce._broken" in record.getMessage()
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signal", [score_changed, temperature_changed], ids=["score", "temperature"]
)
def test_score_lead_announces_each_move_past_a_failing_receiver(
    signal: Signal, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(points=40)
    lead = LeadFactory(job_title="Director")
    with _broken_then_heard(signal) as heard, django_capture_on_commit_callbacks(execute=True):
        score_lead(lead_id=lead.pk)
    assert [fact["lead_id"] for fact in heard] == [lead.pk]
    [failure] = _failures(caplog)
    assert f"lead {lead.pk}" in failure


@pytest.mark.django_db
@pytest.mark.parametrize("rescore", ["all", "set"])
def test_set_based_rescoring_announces_each_lead_past_a_failing_receiver(
    rescore: str, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(points=40)
    leads = [LeadFactory(job_title="Director") for _ in range(2)]
    with (
        _broken_then_heard(temperature_changed) as heard,
        django_capture_on_commit_callbacks(execute=True),
    ):
        if rescore == "all":
            rescore_all_leads()
        else:
            score_leads(lead_ids=[lead.pk for lead in leads])
    assert sorted(fact["lead_id"] for fact in heard) == [lead.pk for lead in leads]
    assert sorted(_failures(caplog)) == sorted(
        f"Receiver tests.test_announce._broken of a ScoreChange fact failed for lead {lead.pk}"
        for lead in leads
    )


@pytest.mark.django_db
def test_segment_joins_are_announced_past_a_failing_receiver(
    caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    segment = Segment.objects.create(
        name="Directors",
        conditions={
            "match": "all",
            "conditions": [{"field": "job_title", "op": "contains", "value": "director"}],
        },
    )
    lead = LeadFactory(job_title="Director")
    with (
        _broken_then_heard(segment_joined) as heard,
        django_capture_on_commit_callbacks(execute=True),
    ):
        refresh_lead(lead_id=lead.pk)
    assert [(fact["segment_id"], fact["lead_ids"]) for fact in heard] == [(segment.pk, [lead.pk])]
    [failure] = _failures(caplog)
    assert failure.endswith(f"failed for leads {lead.pk} (segment {segment.pk})")


@pytest.mark.django_db
def test_a_journey_action_is_asked_past_a_failing_receiver(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead = LeadFactory(owner=UserFactory(), time_zone="UTC")
    journey = journeys.build(
        name="Note journey",
        hand_hot_leads_to_sales=False,  # its lead has an owner: a journey for leads sales works
        nodes={
            "note": {
                "kind": Node.Kind.UPDATE,
                "name": "Note",
                "config": {"action": "note", "text": "Saw pricing"},
            }
        },
        edges=[],
        start="note",
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )
    enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
    assert enrollment is not None
    advancing.advance_all_due(now=timezone.now())  # arrives; its effect waits for the commit
    assert PathStep.objects.get(enrollment=enrollment).effect == "pending"
    with _broken_then_heard(journey_action) as heard:
        result = actions.run_effect(enrollment_id=enrollment.pk, node_id=journey.start_node_id)
    assert result == "note added: “Saw pricing”", "sales's receiver still did it"
    assert [fact["lead_id"] for fact in heard] == [lead.pk]
    [failure] = _failures(caplog)
    assert f"lead {lead.pk}" in failure


@pytest.mark.django_db
def test_an_imports_activities_are_announced_once_past_a_failing_receiver(
    caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(points=40)
    rows = {
        f"lead{n}@example.com": {"email": f"lead{n}@example.com", "job_title": "Director"}
        for n in range(3)
    }
    with (
        _broken_then_heard(activities_recorded) as heard,
        django_capture_on_commit_callbacks(execute=True),
    ):
        imported = import_leads(
            rows=rows,
            merge=lambda lead, values: False,
            columns=[],
            consent_text="Asked at the expo.",
            activity={"name": "lead_imported"},
            now=timezone.now(),
        )
    ids = imported.touched_ids
    assert [sorted(fact["lead_ids"]) for fact in heard] == [sorted(ids)]
    [failure] = _failures(caplog)
    assert failure.endswith("failed for leads " + ", ".join(map(str, ids)))
    # Scoring, connected before the broken receiver, rescored the leads all the same.
    assert set(Lead.objects.values_list("score", flat=True)) == {40}


def test_a_fact_about_many_leads_names_the_first_of_them_and_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fact = Signal()
    fact.connect(_broken, dispatch_uid="broken", weak=False)
    announce(fact, Lead, lead_ids=list(range(1, 101)))
    [failure] = _failures(caplog)
    assert failure.endswith(
        "failed for leads " + ", ".join(map(str, range(1, 21))) + ", … (100 in all)"
    )
