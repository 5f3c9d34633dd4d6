"""The SMS node end to end: the real `twilio` client against the local fake of Twilio's API,
consent, quiet hours in the lead's zone, and STOP through the signed inbound webhook."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from capture.models import Lead
from nurture.models import Enrollment, Node, PathStep, Sequence, SmsMessage, SmsSuppression
from nurture.services import advancing, journeys, triggers
from tests.journeys.builders import node, wait
from tests.nurture.fake_twilio import FakeTwilio
from tests.nurture.test_sms import FROM, LONDON, SID, SITE, TOKEN, inbound, texting_lead

pytestmark = pytest.mark.django_db(transaction=True)

NOON_IN_LONDON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# 02:00 in London (GMT in December): quiet until 09:00.
NIGHT_IN_LONDON = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def twilio(settings: Any) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    fake.start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_MESSAGING_SERVICE_SID = FROM, ""
    settings.TWILIO_API_BASE = fake.url
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the fake listens on 127.0.0.1
    settings.SITE_URL = SITE
    settings.SMS_QUIET_START_HOUR, settings.SMS_QUIET_END_HOUR = 21, 9
    yield fake
    fake.stop()


def _journey(**extra_nodes: dict) -> Sequence:
    """text → (extra nodes in order) → end."""
    nodes = {"text": node(Node.Kind.SMS, "Text", body="Hi {{ first_name }}, your guide is ready.")}
    nodes.update(extra_nodes)
    keys = list(nodes)
    return journeys.build(
        name="Texting journey",
        nodes=nodes,
        edges=[(a, "next", b) for a, b in itertools.pairwise(keys)],
        start="text",
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )


def _tick(at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        advancing.advance_all_due(now=at)


def _enter(lead: Lead, journey: Sequence, at: datetime) -> Enrollment:
    with time_machine.travel(at, tick=False):
        enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
    assert enrollment is not None
    return enrollment


def _text_step(enrollment: Enrollment, name: str = "Text") -> PathStep:
    return PathStep.objects.get(enrollment=enrollment, node_name=name)


def test_an_sms_node_texts_a_consenting_lead_and_the_lead_moves_on(twilio: FakeTwilio) -> None:
    lead = texting_lead(first_name="Ada")
    enrollment = _enter(lead, _journey(), NOON_IN_LONDON)

    [request] = twilio.received
    assert request.authorised
    assert (request.form["To"], request.form["From"], request.form["Body"]) == (
        LONDON,
        FROM,
        "Hi Ada, your guide is ready.",
    )
    step = _text_step(enrollment)
    assert (step.effect, step.result) == ("done", f"SMS sent to {LONDON}")
    message = SmsMessage.objects.get()
    assert (message.lead_id, message.status, message.twilio_sid) == (
        lead.pk,
        "queued",
        f"SM{1:032x}",
    )

    _tick(NOON_IN_LONDON + timedelta(seconds=5))
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED
    assert len(twilio.received) == 1  # moving on never texts again


def test_an_sms_body_offers_the_same_merge_fields_as_an_email(twilio: FakeTwilio) -> None:
    lead = texting_lead(first_name="", company="Engines & <Co>")
    body = "Hi {{ first_name }}, {{ company }}'s guide: {{ site_url }}/guide"
    journey = journeys.build(
        name="Texting journey",
        nodes={"text": node(Node.Kind.SMS, "Text", body=body)},
        edges=[],
        start="text",
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )

    _enter(lead, journey, NOON_IN_LONDON)

    [request] = twilio.received
    # As an email has it: no first name is "there"; values as typed, plain text.
    assert request.form["Body"] == f"Hi there, Engines & <Co>'s guide: {SITE}/guide"


def test_a_lead_without_sms_consent_is_refused_and_moves_on(twilio: FakeTwilio) -> None:
    lead = texting_lead(sms_consent_given_at=None, sms_consent_text="")
    journey = _journey(later=wait(1, "hours"))
    enrollment = _enter(lead, journey, NOON_IN_LONDON)

    assert twilio.received == []
    step = _text_step(enrollment)
    assert (step.effect, step.result) == ("done", "refused: no_consent")
    assert SmsMessage.objects.get().refusal == SmsMessage.Refusal.NO_CONSENT
    _tick(NOON_IN_LONDON + timedelta(seconds=5))
    enrollment.refresh_from_db()
    assert enrollment.current_node.kind == Node.Kind.WAIT


def test_quiet_hours_hold_the_text_until_they_end_then_it_is_sent(twilio: FakeTwilio) -> None:
    lead = texting_lead(first_name="Ada")
    enrollment = _enter(lead, _journey(), NIGHT_IN_LONDON)

    held_until = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert twilio.received == [] and not SmsMessage.objects.exists()
    step = _text_step(enrollment)
    assert (step.effect, step.result) == (
        "pending",
        "held for quiet hours until 2026-12-02 09:00 UTC",
    )
    enrollment.refresh_from_db()
    assert enrollment.next_at == held_until
    assert enrollment.current_node.kind == Node.Kind.SMS

    _tick(held_until - timedelta(minutes=1))  # not due yet: nothing happens
    assert twilio.received == []

    _tick(held_until)
    [request] = twilio.received
    assert request.form["Body"] == "Hi Ada, your guide is ready."
    step.refresh_from_db()
    assert (step.effect, step.result) == ("done", f"SMS sent to {LONDON}")

    _tick(held_until + timedelta(seconds=5))
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED
    assert len(twilio.received) == 1


def test_an_inbound_webhook_with_a_bad_signature_is_403_and_suppresses_nothing(
    twilio: FakeTwilio, client: Client
) -> None:
    texting_lead()
    params = {"From": LONDON, "To": FROM, "Body": "STOP", "AccountSid": SID}

    forged = client.post(
        "/sms/twilio/inbound/", params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    )
    unsigned = client.post("/sms/twilio/inbound/", params)

    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert not SmsSuppression.objects.exists()


def test_stop_suppresses_a_later_sms_node_of_the_same_journey(
    twilio: FakeTwilio, client: Client
) -> None:
    lead = texting_lead(first_name="Ada")
    journey = _journey(
        pause=wait(1, "days"),
        again=node(Node.Kind.SMS, "Text again", body="Still interested, {{ first_name }}?"),
    )
    enrollment = _enter(lead, journey, NOON_IN_LONDON)
    _tick(NOON_IN_LONDON + timedelta(seconds=5))
    assert len(twilio.received) == 1

    with time_machine.travel(NOON_IN_LONDON + timedelta(hours=1), tick=False):
        assert inbound(client, "STOP").status_code == 200
    assert SmsSuppression.objects.filter(phone=LONDON, reason="stopped").exists()

    next_day = NOON_IN_LONDON + timedelta(days=1, minutes=1)
    _tick(next_day)
    _tick(next_day + timedelta(seconds=5))

    assert len(twilio.received) == 1  # no request reached Twilio for the second text
    second = _text_step(enrollment, "Text again")
    assert (second.effect, second.result) == ("done", "refused: suppressed")
    refused = SmsMessage.objects.get(status=SmsMessage.Status.REFUSED)
    assert refused.refusal == SmsMessage.Refusal.SUPPRESSED
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


def test_a_lead_sales_has_gets_no_text_from_a_hand_off_journey(twilio: FakeTwilio) -> None:
    from tests.factories import sales_rep

    journey = _journey(pause=wait(1, "hours"), again=node(Node.Kind.SMS, "Again", body="Hi"))
    Sequence.objects.filter(pk=journey.pk).update(hand_hot_leads_to_sales=True)
    lead = texting_lead(first_name="Ada")
    enrollment = _enter(lead, journey, NOON_IN_LONDON)
    assert len(twilio.received) == 1
    # A rep claims the lead between the two texts: nothing announces that to nurture.
    Lead.objects.filter(pk=lead.pk).update(owner=sales_rep())
    for minutes in (1, 62, 63):
        _tick(NOON_IN_LONDON + timedelta(minutes=minutes))
    assert len(twilio.received) == 1, "no second text"
    assert _text_step(enrollment, "Again").result.startswith("not sent: handed to sales")
