"""A fact is announced one way (leadfunnel.announce): on commit, to every receiver, each
failure logged with the lead's id and none of them raised into the request that wrote it."""

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.dispatch import Signal
from rest_framework.test import APIClient

from capture.models import Lead
from leadfunnel.announce import announce, announce_on_commit
from sales.signals import lead_created
from tests.factories import marketer
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
