"""Texting a lead with the real `twilio` client against a local fake of Twilio's API, and
Twilio's inbound webhook (STOP, START, HELP) and status callback through HTTP."""

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from capture.models import SMS_CONSENT_TEXT, Lead
from integrations.services.privacy import ERASED_TEXT, erase_lead
from nurture.models import SmsMessage, SmsSuppression
from nurture.services.sms import send_sms
from sales.selectors.lead import lead_workspace
from tests.factories import LeadFactory
from tests.nurture.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
FROM = "+15005550006"
SITE = "https://leads.example.com"
LONDON = "+442079460958"
NOON_IN_LONDON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


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


def texting_lead(**fields: Any) -> Lead:
    values: dict[str, Any] = {
        "phone": LONDON,
        "time_zone": "Europe/London",
        "sms_consent_given_at": timezone.now(),
        "sms_consent_text": SMS_CONSENT_TEXT,
        **fields,
    }
    return LeadFactory(**values)


def signed_post(client: Client, path: str, params: dict[str, str], *, token: str = TOKEN) -> Any:
    """POST as Twilio does: X-Twilio-Signature is base64(HMAC-SHA1(token, URL + each field
    name and value, sorted by name)), written out here rather than taken from the library."""
    payload = SITE + path + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


def inbound(client: Client, body: str, *, sender: str = LONDON) -> Any:
    params = {
        "From": sender,
        "To": FROM,
        "Body": body,
        "MessageSid": "SM" + "f" * 32,
        "AccountSid": SID,
    }
    return signed_post(client, "/sms/twilio/inbound/", params)


def test_it_sends_through_the_twilio_client_and_records_the_message(twilio: FakeTwilio) -> None:
    lead = texting_lead()

    with time_machine.travel(NOON_IN_LONDON, tick=False):
        result = send_sms(lead_id=lead.pk, body="Your consultation is confirmed.")

    assert result.outcome == "sent"
    [request] = twilio.received
    assert request.authorised and request.account_sid == SID
    assert request.form == {
        "To": LONDON,
        "From": FROM,
        "Body": "Your consultation is confirmed.",
        "StatusCallback": f"{SITE}/sms/twilio/status/",
    }
    message = SmsMessage.objects.get()
    assert (message.lead_id, message.to_number, message.status) == (lead.pk, LONDON, "queued")
    assert message.twilio_sid == f"SM{1:032x}"
    assert message.sent_at == NOON_IN_LONDON
    assert (message.body, message.segments, message.refusal) == (
        "Your consultation is confirmed.",
        1,
        "",
    )


def test_a_messaging_service_is_used_instead_of_a_from_number(
    twilio: FakeTwilio, settings: Any
) -> None:
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        send_sms(lead_id=texting_lead().pk, body="Hi")

    assert twilio.received[0].form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in twilio.received[0].form


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"sms_consent_given_at": None, "sms_consent_text": ""}, "no_consent"),
        ({"phone": ""}, "invalid_number"),
        ({"phone": "call me maybe"}, "invalid_number"),  # stored before the E.164 rule
        ({"phone": "+1555123"}, "invalid_number"),
    ],
)
def test_it_refuses_and_records_why_and_nothing_reaches_twilio(
    twilio: FakeTwilio, fields: dict[str, Any], refusal: str
) -> None:
    lead = texting_lead(**fields)

    with time_machine.travel(NOON_IN_LONDON, tick=False):
        result = send_sms(lead_id=lead.pk, body="Hello")

    assert (result.outcome, result.reason) == ("refused", refusal)
    message = SmsMessage.objects.get()
    assert (message.status, message.refusal, message.twilio_sid) == ("refused", refusal, None)
    assert twilio.received == []


def test_without_twilio_settings_nothing_is_sent(twilio: FakeTwilio, settings: Any) -> None:
    settings.TWILIO_ACCOUNT_SID = ""
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        result = send_sms(lead_id=texting_lead().pk, body="Hello")

    assert (result.outcome, result.reason) == ("refused", "not_configured")
    assert twilio.received == []


@pytest.mark.parametrize(
    ("zone", "phone", "at", "hold_until"),
    [
        # 21:00 in New York (EST) is 02:00 in London: held until 09:00 EST = 14:00 UTC.
        (
            "America/New_York",
            LONDON,
            datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
        ),
        # 02:00 in London: held until 09:00 London the same day.
        (
            "Europe/London",
            LONDON,
            datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        ),
        # Across the US change to summer time (8 March 2026): 22:00 EST → 09:00 EDT.
        (
            "America/New_York",
            LONDON,
            datetime(2026, 3, 8, 3, 0, tzinfo=UTC),
            datetime(2026, 3, 8, 13, 0, tzinfo=UTC),
        ),
        # No zone on the lead: its number's (+1 202: New York's), not the fallback UTC.
        (
            "",
            "+12025550143",
            datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_in_the_leads_zone_hold_the_text_until_they_end(
    twilio: FakeTwilio, zone: str, phone: str, at: datetime, hold_until: datetime
) -> None:
    lead = texting_lead(time_zone=zone, phone=phone)

    with time_machine.travel(at, tick=False):
        result = send_sms(lead_id=lead.pk, body="Hello")

    assert (result.outcome, result.hold_until) == ("held", hold_until)
    assert twilio.received == [] and not SmsMessage.objects.exists()

    with time_machine.travel(hold_until, tick=False):
        assert send_sms(lead_id=lead.pk, body="Hello").outcome == "sent"
    assert len(twilio.received) == 1


def test_stop_suppresses_the_number_and_start_lifts_it(twilio: FakeTwilio, client: Client) -> None:
    lead = texting_lead()

    stop = inbound(client, " stop ")
    assert stop.status_code == 200
    assert stop["Content-Type"].startswith("text/xml")
    assert stop.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    suppression = SmsSuppression.objects.get()
    assert (str(suppression.phone), suppression.reason, suppression.keyword) == (
        LONDON,
        "stopped",
        "STOP",
    )

    with time_machine.travel(NOON_IN_LONDON, tick=False):
        refused = send_sms(lead_id=lead.pk, body="Still there?")
    assert (refused.outcome, refused.reason) == ("refused", "suppressed")
    assert twilio.received == []

    assert inbound(client, "START").status_code == 200
    assert not SmsSuppression.objects.exists()
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        assert send_sms(lead_id=lead.pk, body="Welcome back").outcome == "sent"
    assert [r.form["Body"] for r in twilio.received] == ["Welcome back"]


@pytest.mark.parametrize("keyword", ["STOPALL", "unsubscribe", "Cancel", "END", "quit"])
def test_every_opt_out_keyword_suppresses(client: Client, twilio: FakeTwilio, keyword: str) -> None:
    inbound(client, keyword)
    assert SmsSuppression.objects.filter(phone=LONDON).exists()


def test_a_sentence_with_stop_in_it_is_not_an_opt_out(client: Client, twilio: FakeTwilio) -> None:
    assert inbound(client, "Please don't stop, this is useful").status_code == 200
    assert not SmsSuppression.objects.exists()


def test_help_answers_with_the_help_text(client: Client, twilio: FakeTwilio, settings: Any) -> None:
    settings.SMS_HELP_REPLY = "Acme: reply STOP to stop."
    response = inbound(client, "help")
    assert response.content.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message>Acme: reply STOP to stop.</Message></Response>"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature at all
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    ],
)
def test_an_unsigned_or_forged_inbound_is_403_and_changes_nothing(
    client: Client, twilio: FakeTwilio, headers: dict[str, str]
) -> None:
    response = client.post(
        "/sms/twilio/inbound/", {"From": LONDON, "Body": "STOP"}, headers=headers
    )
    assert response.status_code == 403
    assert not SmsSuppression.objects.exists()


def test_a_signature_made_with_another_token_is_403(client: Client, twilio: FakeTwilio) -> None:
    response = signed_post(
        client, "/sms/twilio/inbound/", {"From": LONDON, "Body": "STOP"}, token="not-ours"
    )
    assert response.status_code == 403
    assert not SmsSuppression.objects.exists()


def test_a_signature_for_other_fields_is_403(client: Client, twilio: FakeTwilio) -> None:
    """A captured request replayed with its Body changed (START into STOP) fails."""
    signed = {"From": LONDON, "Body": "HELP"}
    payload = SITE + "/sms/twilio/inbound/" + "".join(k + signed[k] for k in sorted(signed))
    signature = base64.b64encode(
        hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    response = client.post(
        "/sms/twilio/inbound/",
        {"From": LONDON, "Body": "STOP"},
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    assert not SmsSuppression.objects.exists()


def test_without_an_auth_token_every_inbound_is_403(
    client: Client, twilio: FakeTwilio, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    # Signed with the empty token an attacker could guess.
    response = signed_post(
        client, "/sms/twilio/inbound/", {"From": LONDON, "Body": "STOP"}, token=""
    )
    assert response.status_code == 403
    assert not SmsSuppression.objects.exists()


def test_the_inbound_webhook_takes_only_post(client: Client, twilio: FakeTwilio) -> None:
    assert client.get("/sms/twilio/inbound/").status_code == 405


def test_texts_leave_through_the_one_outbound_client_and_its_guard(
    twilio: FakeTwilio, settings: Any
) -> None:
    # Production refuses private and loopback addresses for every outside call: a Twilio base
    # URL that points at one (a misconfiguration, or a DNS answer changed under us) is not
    # connected to, and the text is recorded failed, not sent.
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    lead = texting_lead()

    with time_machine.travel(NOON_IN_LONDON, tick=False):
        result = send_sms(lead_id=lead.pk, body="Hello")

    assert result.outcome == "failed"
    assert twilio.received == []
    message = SmsMessage.objects.get()
    assert message.status == "failed"
    assert message.error_message.startswith("No answer from Twilio: Refused: 127.0.0.1 points")


def test_twilio_refusing_an_unsubscribed_recipient_suppresses_the_number(
    twilio: FakeTwilio,
) -> None:
    twilio.errors = [21610]
    lead = texting_lead()

    with time_machine.travel(NOON_IN_LONDON, tick=False):
        result = send_sms(lead_id=lead.pk, body="Hello")

    assert result.outcome == "failed"
    message = SmsMessage.objects.get()
    assert (message.status, message.error_code, message.error_message) == (
        "failed",
        "21610",
        "Unable to create record: Error 21610",
    )
    assert SmsSuppression.objects.get().reason == "carrier"


def test_the_status_callback_records_delivery(client: Client, twilio: FakeTwilio) -> None:
    lead = texting_lead()
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        send_sms(lead_id=lead.pk, body="Hello")
    sid = SmsMessage.objects.get().twilio_sid
    assert sid

    forged = client.post("/sms/twilio/status/", {"MessageSid": sid, "MessageStatus": "failed"})
    assert forged.status_code == 403
    assert SmsMessage.objects.get().status == "queued"

    response = signed_post(
        client, "/sms/twilio/status/", {"MessageSid": sid, "MessageStatus": "delivered"}
    )
    assert response.status_code == 204
    assert SmsMessage.objects.get().status == "delivered"

    late = signed_post(client, "/sms/twilio/status/", {"MessageSid": sid, "MessageStatus": "sent"})
    assert late.status_code == 204
    assert SmsMessage.objects.get().status == "delivered", "a late callback undoes nothing"


def test_the_leads_timeline_shows_its_texts(twilio: FakeTwilio) -> None:
    lead = texting_lead()
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        send_sms(lead_id=lead.pk, body="Your slot is at 3pm.")
    Lead.objects.filter(pk=lead.pk).update(sms_consent_given_at=None)
    with time_machine.travel(NOON_IN_LONDON + timedelta(hours=1), tick=False):
        send_sms(lead_id=lead.pk, body="Not allowed")

    texts = [e for e in lead_workspace(lead=lead).timeline if e.kind == "sms"]
    assert [(e.title, e.detail) for e in texts] == [
        ("Text not sent: no sms consent", "Not allowed"),
        (f"Texted {LONDON} (queued at twilio)", "Your slot is at 3pm."),
    ]


def test_a_privacy_erase_blanks_the_texts_and_keeps_the_number_stopped(
    twilio: FakeTwilio,
) -> None:
    lead = texting_lead()
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        send_sms(lead_id=lead.pk, body="Hi Ada, your slot is at 3pm.")

    erase_lead(lead_id=lead.pk, actor=None, reason="asked by email")

    message = SmsMessage.objects.get()
    assert (message.to_number, message.body) == ("", ERASED_TEXT)
    assert SmsSuppression.objects.get().reason == "manual"
    # Whoever gives the number next is not texted: it was asked never to be contacted.
    again = texting_lead(email="new@example.com")
    with time_machine.travel(NOON_IN_LONDON, tick=False):
        assert send_sms(lead_id=again.pk, body="Hello").reason == "suppressed"
    assert len(twilio.received) == 1
