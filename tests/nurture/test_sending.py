import email
import re
import smtplib
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Step, Suppression
from nurture.services.dispatching import hand_out_due
from nurture.services.scheduling import enroll_lead
from nurture.services.sending import classify_failure, send_delivery
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db

MONDAY_10_BERLIN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
on_commit = TestCase.captureOnCommitCallbacks


def _enrolled(**lead: Any) -> Enrollment:
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(MONDAY_10_BERLIN, tick=False), on_commit(execute=True):
        enrollment = enroll_lead(
            lead=LeadFactory(time_zone="Europe/Berlin", **lead), sequence=sequence
        )
    assert enrollment is not None
    return enrollment


def _run_ticks(
    until: datetime, every: timedelta = timedelta(hours=1)
) -> list[tuple[int, datetime]]:
    """Advance the clock tick by tick, as beat would; returns (step day, sent at)."""
    sent: list[tuple[int, datetime]] = []
    moment = MONDAY_10_BERLIN
    while moment <= until:
        with time_machine.travel(moment, tick=False):
            hand_out_due()
        moment += every
    for delivery in Delivery.objects.filter(status="sent").select_related("step"):
        sent.append((delivery.step.day, delivery.sent_at))
    return sorted(sent)


def test_each_step_goes_out_on_its_day_in_the_window_exactly_once() -> None:
    enrollment = _enrolled(first_name="Ada")
    sent = _run_ticks(until=MONDAY_10_BERLIN + timedelta(days=8))

    assert [day for day, _ in sent] == [1, 2, 3, 5, 7]
    for day, sent_at in sent:
        expected = MONDAY_10_BERLIN + timedelta(days=day - 1)
        assert expected <= sent_at < expected + timedelta(hours=1), (day, sent_at)
        if day > 1:
            assert 9 <= sent_at.astimezone(BERLIN).hour < 17
    assert len(mail.outbox) == 5
    assert [m.subject for m in mail.outbox] == [f"Day {d} for Ada" for d in (1, 2, 3, 5, 7)]
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


def test_the_same_send_task_twice_sends_once() -> None:
    enrollment = _enrolled()
    day1 = enrollment.deliveries.get(step__day=1)
    assert day1.status == Delivery.Status.SENT, "day 1 went out on commit (eager tasks)"
    assert send_delivery(delivery_id=day1.pk) == "not claimed"
    later = enrollment.deliveries.get(step__day=2)
    Delivery.objects.filter(pk=later.pk).update(status="queued")
    assert send_delivery(delivery_id=later.pk) == "sent"
    assert send_delivery(delivery_id=later.pk) == "not claimed"
    assert len(mail.outbox) == 2


def test_suppression_is_checked_at_send_time() -> None:
    enrollment = _enrolled()
    Suppression.objects.create(email=enrollment.lead.email, reason="bounced")
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=1, minutes=5), tick=False):
        hand_out_due()
    day2 = enrollment.deliveries.get(step__day=2)
    assert day2.status == Delivery.Status.SKIPPED
    assert len(mail.outbox) == 1, "only the day-1 email, sent before the suppression"
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "suppressed")
    later = enrollment.deliveries.exclude(step__day__in=[1, 2])
    assert set(later.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.parametrize(
    ("stage", "reason"), [("booked", "booked"), ("won", "won"), ("lost", "lost")]
)
def test_a_booked_or_closed_lead_leaves_the_sequence(stage: str, reason: str) -> None:
    enrollment = _enrolled()
    Lead.objects.filter(pk=enrollment.lead_id).update(stage=stage)
    _run_ticks(until=MONDAY_10_BERLIN + timedelta(days=8), every=timedelta(hours=6))
    assert len(mail.outbox) == 1
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", reason)


def test_a_paused_sequence_holds_its_emails_until_resumed() -> None:
    enrollment = _enrolled()
    enrollment.sequence.status = "paused"
    enrollment.sequence.save()
    _run_ticks(until=MONDAY_10_BERLIN + timedelta(days=3), every=timedelta(hours=6))
    assert len(mail.outbox) == 1
    enrollment.sequence.status = "active"
    enrollment.sequence.save()
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=3, hours=1), tick=False):
        hand_out_due()
    assert [m.subject.split(" for")[0] for m in mail.outbox] == ["Day 1", "Day 2", "Day 3"]


def test_temperature_condition_skips_the_step() -> None:
    enrollment = _enrolled()
    Step.objects.filter(sequence=enrollment.sequence, day=2).update(only_temperatures=["hot"])
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=1, minutes=1), tick=False):
        hand_out_due()
    day2 = enrollment.deliveries.get(step__day=2)
    assert (day2.status, day2.last_error) == ("skipped", "condition: lead is cold")
    Lead.objects.filter(pk=enrollment.lead_id).update(temperature="hot")
    Step.objects.filter(sequence=enrollment.sequence, day=3).update(only_temperatures=["hot"])
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=2, minutes=1), tick=False):
        hand_out_due()
    assert enrollment.deliveries.get(step__day=3).status == "sent"


@pytest.mark.parametrize(
    ("clicked", "condition", "status"),
    [
        (True, "clicked", "sent"),
        (False, "clicked", "skipped"),
        (True, "not_clicked", "skipped"),
        (False, "not_clicked", "sent"),
    ],
)
def test_click_condition_follows_the_previous_email(
    clicked: bool, condition: str, status: str
) -> None:
    enrollment = _enrolled()
    if clicked:
        enrollment.deliveries.filter(step__day=1).update(clicked_at=MONDAY_10_BERLIN)
    Step.objects.filter(sequence=enrollment.sequence, day=2).update(click_condition=condition)
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=1, minutes=1), tick=False):
        hand_out_due()
    assert enrollment.deliveries.get(step__day=2).status == status


def test_edited_copy_applies_to_emails_not_yet_sent() -> None:
    enrollment = _enrolled()
    Step.objects.filter(sequence=enrollment.sequence, day=2).update(subject="Fresh copy")
    with time_machine.travel(MONDAY_10_BERLIN + timedelta(days=1, minutes=1), tick=False):
        hand_out_due()
    assert mail.outbox[-1].subject == "Fresh copy"


def test_the_message_is_multipart_with_one_click_unsubscribe_headers(settings: Any) -> None:
    settings.NURTURE_UNSUBSCRIBE_MAILTO = "unsubscribe@leads.example"
    enrollment = _enrolled(first_name="Ada", last_name="Lovelace")
    raw = mail.outbox[0].message(policy=policy.SMTP).as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    # Mail clients read the URL literally: no RFC 2047 encoding, no folding inside it.
    assert re.search(rb"\r\nList-Unsubscribe: <http://localhost:8000/u/[^\s>]+/>", raw)

    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert parsed["To"] == f"Ada Lovelace <{enrollment.lead.email}>"
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith(">")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = parsed["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{settings.SITE_URL}/u/")
    assert "<mailto:unsubscribe@leads.example?subject=unsubscribe>" in unsubscribe
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "Unsubscribe" in html and settings.NURTURE_POSTAL_ADDRESS in html
    assert "/t/o/" in html, "open pixel"
    assert "https://example.com/guide" not in html, "links go through click tracking"
    assert f'<a href="{settings.SITE_URL}/t/c/' in html, "a real, tracked link"
    assert "&lt;" not in html, "the body is HTML, not escaped text"
    (tracked,) = re.findall(rf'<a href="({settings.SITE_URL}/t/c/[^"]+)"', html)
    # The text part is the same email: the same tracked link, not the raw address.
    assert f"Hello Ada from our site ({tracked})." in text
    assert "Unsubscribe or choose what you get" in text
    assert "https://example.com/guide" not in text
    day1 = enrollment.deliveries.get(step__day=1)
    assert day1.message_id == parsed["Message-ID"]


def test_tracking_can_be_switched_off() -> None:
    sequence = playbook_sequence(track_engagement=False)
    with on_commit(execute=True):
        enroll_lead(lead=LeadFactory(), sequence=sequence)
    html = mail.outbox[0].alternatives[0][0]
    assert "/t/o/" not in html and "/t/c/" not in html
    assert "https://example.com/guide?a=1&amp;b=2" in html


def test_a_hostile_name_never_adds_a_header() -> None:
    _enrolled(first_name="Eve\r\nBcc: victim@example.com", last_name="X")
    parsed = email.message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"]


def test_merge_fields_are_escaped_in_html() -> None:
    _enrolled(first_name='<img src=x onerror="alert(1)">')
    html = mail.outbox[0].alternatives[0][0]
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html


@pytest.mark.parametrize(
    ("error", "temporary", "bounced"),
    [
        (smtplib.SMTPResponseException(451, b"try later"), True, False),
        (smtplib.SMTPResponseException(554, b"rejected"), False, False),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), False, True),
        (smtplib.SMTPRecipientsRefused({"a@x": (452, b"mailbox full")}), True, False),
        (smtplib.SMTPServerDisconnected("gone"), True, False),
        (ConnectionRefusedError("refused"), True, False),
        (TimeoutError("slow"), True, False),
        (ValueError("bad"), False, False),
    ],
)
def test_failures_are_classified(error: Exception, temporary: bool, bounced: bool) -> None:
    failure = classify_failure(error)
    assert (failure.temporary, failure.bounced) == (temporary, bounced)


def test_temporary_failures_back_off_and_permanent_ones_stop(settings: Any) -> None:
    settings.NURTURE_RETRY_BASE_SECONDS = 60
    settings.NURTURE_MAX_ATTEMPTS = 3
    settings.MAILERS = {
        "default": {"BACKEND": "tests.nurture.backends.FailingBackend", "OPTIONS": {"code": 451}}
    }
    enrollment = _enrolled()
    day1 = enrollment.deliveries.get(step__day=1)
    assert (day1.status, day1.attempts) == ("scheduled", 1)
    assert day1.due_at == MONDAY_10_BERLIN + timedelta(seconds=60)
    assert "451" in day1.last_error
    with time_machine.travel(day1.due_at + timedelta(seconds=1), tick=False):
        hand_out_due()
    day1.refresh_from_db()
    assert (day1.status, day1.attempts) == ("scheduled", 2)
    assert day1.due_at == MONDAY_10_BERLIN + timedelta(seconds=61 + 120)
    with time_machine.travel(day1.due_at + timedelta(seconds=1), tick=False):
        hand_out_due()
    day1.refresh_from_db()
    assert (day1.status, day1.attempts) == ("failed", 3), "gives up after the last attempt"


def test_a_hard_bounce_fails_and_suppresses(settings: Any) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "tests.nurture.backends.FailingBackend",
            "OPTIONS": {"code": 550, "refuse": True},
        }
    }
    enrollment = _enrolled()
    day1 = enrollment.deliveries.get(step__day=1)
    assert day1.status == "failed" and "550" in day1.last_error
    assert Suppression.objects.filter(email=enrollment.lead.email, reason="bounced").exists()
    enrollment.refresh_from_db()
    assert enrollment.state == "exited"
