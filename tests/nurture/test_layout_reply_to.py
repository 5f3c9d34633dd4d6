"""Reply-To per journey email (issue 14): a sales-like step (its node's config says
`"reply_to": "owner"`) replies to the lead's rep, a node may name an address of its own,
and everything else replies to NURTURE_REPLY_TO (or, without it, to the sender)."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Node, Sequence, Trigger
from nurture.services import journeys, triggers
from nurture.services.composing import build_test_message
from nurture.services.sending import send_batch
from tests.factories import LandingPageFactory, LeadFactory
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TEAM = "Acme Team <team@acme.com>"


@pytest.fixture(autouse=True)
def configured(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Acme <hello@leads.acme.com>"
    settings.NURTURE_REPLY_TO = TEAM


def _journey(reply_to: object = None, *, page: Any = None) -> Sequence:
    config = {} if reply_to is None else {"reply_to": reply_to}
    email = {
        "subject": "Shall we talk, {{ first_name }}?",
        "body": "Just reply to this email.",
        "transactional": True,
    }
    return journeys.build(
        name=f"Reply {reply_to!r}",
        nodes={"ask": {"kind": Node.Kind.EMAIL, "name": "Ask", "config": config, "email": email}},
        edges=[],
        start="ask",
        triggers=[(Trigger.Kind.FORM, {"page": page.pk})] if page is not None else [],
    )


def _rita() -> User:
    rep = make_rep("rita", email="rita@acme.com")
    rep.first_name, rep.last_name = "Rita", "Moreno"
    rep.save(update_fields=["first_name", "last_name"])
    return rep


def _queued(journey: Sequence, lead: Lead) -> Delivery:
    node = journey.nodes.get(kind=Node.Kind.EMAIL)
    enrollment = Enrollment.objects.create(
        lead=lead, sequence=journey, started_at=NOW, current_node=node, node_entered_at=NOW
    )
    return Delivery.objects.create(
        enrollment=enrollment, step=node.step, node=node, due_at=NOW, status=Delivery.Status.QUEUED
    )


def _reply_to_of_sent(*deliveries: Delivery) -> list[str | None]:
    mail.outbox.clear()
    outcomes = send_batch(delivery_ids=[delivery.pk for delivery in deliveries])
    assert set(outcomes.values()) == {"sent"}, outcomes
    parsed = [
        message_from_bytes(message.message(policy=policy.SMTP).as_bytes(), policy=policy.default)
        for message in mail.outbox
    ]
    return [message["Reply-To"] for message in parsed]


def test_a_sales_like_step_replies_to_the_leads_rep_through_the_engine() -> None:
    page = LandingPageFactory()
    _journey("owner", page=page)
    lead = LeadFactory(owner=_rita(), time_zone="UTC")
    with time_machine.travel(NOW, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)

    (message,) = [m for m in mail.outbox if m.subject.startswith("Shall we talk")]
    parsed = message.message()
    assert parsed["Reply-To"] == "Rita Moreno <rita@acme.com>"
    assert parsed["From"] == "Acme <hello@leads.acme.com>"  # the sender stays aligned


def test_an_owner_step_for_a_lead_without_a_rep_replies_to_the_configured_address() -> None:
    journey = _journey("owner")
    unowned = _queued(journey, LeadFactory())
    nameless = make_rep("sam", email="sam@acme.com")
    no_address = make_rep("noa", email="")
    owned_by_sam = _queued(_journey("owner"), LeadFactory(owner=nameless))
    owned_by_noa = _queued(_journey("owner"), LeadFactory(owner=no_address))

    assert _reply_to_of_sent(unowned, owned_by_sam, owned_by_noa) == [TEAM, "sam@acme.com", TEAM]


def test_a_node_may_name_its_own_reply_address() -> None:
    delivery = _queued(_journey("Acme Sales <sales@acme.com>"), LeadFactory(owner=_rita()))

    assert _reply_to_of_sent(delivery) == ["Acme Sales <sales@acme.com>"]


@pytest.mark.parametrize(
    "bad",
    [
        "sales@acme.com\r\nBcc: victim@example.com",
        "not an address",
        "a@acme.com, b@acme.com",
        42,
        ["owner"],
    ],
)
def test_a_reply_address_that_is_not_one_address_falls_back(bad: object) -> None:
    delivery = _queued(_journey(bad), LeadFactory())

    mail.outbox.clear()
    send_batch(delivery_ids=[delivery.pk])
    (message,) = mail.outbox
    raw = message.message(policy=policy.SMTP).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Reply-To"] == TEAM
    assert parsed["Bcc"] is None and b"victim@example.com" not in raw


def test_other_steps_reply_to_the_configured_address_or_else_the_sender(settings: Any) -> None:
    plain = _queued(_journey(), LeadFactory(owner=_rita()))
    assert _reply_to_of_sent(plain) == [TEAM]

    settings.NURTURE_REPLY_TO = ""
    again = _queued(_journey(), LeadFactory())
    assert _reply_to_of_sent(again) == [None]


def test_a_batch_reads_the_owners_with_the_deliveries_not_one_query_per_email() -> None:
    rita = _rita()
    journey = _journey("owner")
    deliveries = [_queued(journey, LeadFactory(owner=rita)) for _ in range(3)]

    with CaptureQueriesContext(connection) as queries:
        replies = _reply_to_of_sent(*deliveries)

    assert replies == ["Rita Moreno <rita@acme.com>"] * 3
    # Read once for the batch, joined to its deliveries; never by themselves per email.
    alone = ('SELECT "auth_user"', 'SELECT "nurture_node"')
    assert [q["sql"] for q in queries.captured_queries if q["sql"].startswith(alone)] == []


def test_a_marketers_test_send_of_an_owner_step_shows_where_replies_would_go() -> None:
    journey = _journey("Acme Sales <sales@acme.com>")
    step = journey.nodes.get(kind=Node.Kind.EMAIL).step

    message = build_test_message(step=step, lead=LeadFactory(), to="marketer@acme.com")

    assert message.message()["Reply-To"] == "Acme Sales <sales@acme.com>"
    owner_step = _journey("owner").nodes.get(kind=Node.Kind.EMAIL).step
    rita_lead = LeadFactory(owner=_rita())
    tested = build_test_message(step=owner_step, lead=rita_lead, to="marketer@acme.com")
    assert tested.message()["Reply-To"] == "Rita Moreno <rita@acme.com>"
