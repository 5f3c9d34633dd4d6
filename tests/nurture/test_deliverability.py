"""Headers that let a nurture email authenticate and be answered, and the deploy checks
that refuse settings no inbox would trust."""

import email
from datetime import UTC, datetime
from email import policy
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.checks import Tags, run_checks
from django.test import TestCase

from nurture.models import Delivery, Step
from nurture.services.composing import build_test_message
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db
MONDAY_10_BERLIN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _day_one(settings: Any) -> tuple[Delivery, email.message.EmailMessage]:
    settings.DEFAULT_FROM_EMAIL = "Acme <hello@leads.acme.com>"
    sequence = playbook_sequence(weekdays=list(range(7)))
    with (
        time_machine.travel(MONDAY_10_BERLIN, tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        enrollment = enroll_lead(lead=LeadFactory(time_zone="Europe/Berlin"), sequence=sequence)
    assert enrollment is not None
    [message] = mail.outbox
    raw = message.message(policy=policy.SMTP).as_bytes()
    return enrollment.deliveries.get(step__day=1), email.message_from_bytes(
        raw, policy=policy.default
    )


def test_it_names_step_and_sequence_in_feedback_id_beside_one_click_unsubscribe(
    settings: Any,
) -> None:
    delivery, parsed = _day_one(settings)
    step = delivery.step
    assert parsed["Feedback-ID"] == f"{step.pk}:{step.sequence_id}:nurture:leadfunnel"
    assert parsed["List-Unsubscribe"].startswith(f"<{settings.SITE_URL}/u/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_its_message_id_is_in_the_senders_domain_and_recorded(settings: Any) -> None:
    delivery, parsed = _day_one(settings)
    assert parsed["Message-ID"].endswith("@leads.acme.com>")
    assert delivery.message_id == parsed["Message-ID"]


def test_replies_go_to_the_configured_reply_address(settings: Any) -> None:
    settings.NURTURE_REPLY_TO = "Acme Sales <sales@acme.com>"
    _, parsed = _day_one(settings)
    assert parsed["Reply-To"] == "Acme Sales <sales@acme.com>"


def test_without_a_reply_address_replies_go_to_the_sender(settings: Any) -> None:
    _, parsed = _day_one(settings)
    assert parsed["Reply-To"] is None
    assert parsed["From"] == "Acme <hello@leads.acme.com>"


def test_a_marketers_test_send_carries_the_same_headers_marked_as_a_test(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Acme <hello@leads.acme.com>"
    settings.NURTURE_REPLY_TO = "sales@acme.com"
    step: Step = playbook_sequence().steps.get(day=7)
    message = build_test_message(step=step, lead=LeadFactory(), to="marketer@acme.com")
    parsed = message.message()
    assert parsed["Feedback-ID"] == f"{step.pk}:{step.sequence_id}:test:leadfunnel"
    assert parsed["Reply-To"] == "sales@acme.com"
    assert parsed["Message-ID"].endswith("@leads.acme.com>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# check --deploy ----------------------------------------------------------------------------


def _mail_deploy_problems() -> dict[str, str]:
    messages = run_checks(tags=[Tags.mail], include_deployment_checks=True)
    return {message.id: message.msg for message in messages if message.id.startswith("nurture.")}


REAL_POSTAL_ADDRESS = "Acme Ltd · 1 High Street · London EC1A 1AA"


@pytest.mark.parametrize(
    "sender",
    [
        "leadfunnel <hello@localhost>",
        "hello@example.com",
        "hello@mail.example.org",
        "Shop <shop@example.net>",
        "hello@acme.example",
        "hello@dev.localhost",
        "hello@acme.invalid",
        "hello@acme.test",
        "hello@mailhost",
        "hello",
    ],
)
def test_deploy_check_refuses_a_sender_domain_no_dns_can_vouch_for(
    settings: Any, sender: str
) -> None:
    settings.DEFAULT_FROM_EMAIL = sender
    settings.NURTURE_POSTAL_ADDRESS = REAL_POSTAL_ADDRESS
    problems = _mail_deploy_problems()
    assert list(problems) == ["nurture.E001"]
    assert problems["nurture.E001"].startswith(f"DEFAULT_FROM_EMAIL is {sender!r}: ")
    assert "SPF, DKIM and DMARC" in problems["nurture.E001"]


@pytest.mark.parametrize(
    "sender", ["Acme <hello@acme.com>", "hello@leads.acme.co.uk", "news@examples.com"]
)
def test_deploy_check_accepts_a_real_sender_and_address(settings: Any, sender: str) -> None:
    settings.DEFAULT_FROM_EMAIL = sender
    settings.NURTURE_POSTAL_ADDRESS = REAL_POSTAL_ADDRESS
    assert _mail_deploy_problems() == {}


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("", "unset"),
        ("  ", "unset"),
        ("leadfunnel · 1 Example Street · Springfield", "the placeholder"),
        ("leadfunnel  ·  1 Example Street ·\nSpringfield", "the placeholder"),
    ],
)
def test_deploy_check_refuses_a_missing_or_placeholder_postal_address(
    settings: Any, address: str, said: str
) -> None:
    settings.DEFAULT_FROM_EMAIL = "Acme <hello@acme.com>"
    settings.NURTURE_POSTAL_ADDRESS = address
    problems = _mail_deploy_problems()
    assert list(problems) == ["nurture.E002"]
    assert problems["nurture.E002"].startswith(f"NURTURE_POSTAL_ADDRESS is {said}")
    assert "CAN-SPAM" in problems["nurture.E002"]


def test_deploy_check_warns_when_dkim_signs_for_another_domain(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Acme <hello@leads.acme.com>"
    settings.NURTURE_POSTAL_ADDRESS = REAL_POSTAL_ADDRESS
    settings.DKIM_DOMAIN = "acme.com"  # a parent of the From domain: aligned (relaxed)
    assert _mail_deploy_problems() == {}
    settings.DKIM_DOMAIN = "mailer-acme.com"
    problems = _mail_deploy_problems()
    assert list(problems) == ["nurture.W001"]
    assert (
        "'mailer-acme.com' does not align with the sender's domain 'leads.acme.com'"
        in (problems["nurture.W001"])
    )
