"""Subscription topics, the preference page and the consent log, through HTTP on PostgreSQL.

Emails really go out (a real send_batch to an aiosmtpd sink), and the links followed are the
ones in the headers and bodies of the messages the sink received.
"""

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client, TestCase
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import Tracking, capture_submission
from integrations.services.privacy import erase_lead, export_lead_data
from nurture import tokens
from nurture.models import (
    DEFAULT_TOPIC_SLUG,
    ConsentRecord,
    Delivery,
    Enrollment,
    Sequence,
    SubscriptionTopic,
    Suppression,
    TopicSubscription,
    default_topic_id,
)
from nurture.services import topics
from nurture.services.scheduling import enroll_lead
from nurture.services.sending import send_batch
from tests.factories import LandingPageFactory, LeadFactory, marketer, playbook_sequence, sales_rep
from tests.processes import SmtpSink

pytestmark = pytest.mark.django_db
SITE = "http://localhost:8000"
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sink(settings: Any) -> Iterator[SmtpSink]:
    with SmtpSink() as smtp:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": smtp.port, "timeout": 5},
            }
        }
        yield smtp


@pytest.fixture
def follow_up() -> SubscriptionTopic:
    return SubscriptionTopic.objects.get(pk=default_topic_id())


@pytest.fixture
def newsletter() -> SubscriptionTopic:
    return SubscriptionTopic.objects.create(
        name="Newsletter",
        slug="newsletter",
        requires_opt_in=True,
        position=1,
        description="Once a month.",
        consent_text="Send me the monthly newsletter.",
    )


def _send_day(lead: Lead, sequence: Sequence, day: int) -> Delivery:
    """Queue the lead's delivery of `day` and send it through a real batch."""
    enrollment = Enrollment.objects.get(lead=lead, sequence=sequence)
    delivery = Delivery.objects.get(enrollment=enrollment, step__day=day)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.QUEUED)
    send_batch(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def _enrolled(lead: Lead, sequence: Sequence) -> Enrollment:
    with time_machine.travel(MONDAY, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    return enrollment


def _parsed(sink: SmtpSink, index: int = -1) -> email.message.EmailMessage:
    return email.message_from_bytes(sink.messages[index].content, policy=email.policy.default)


def _one_click_path(message: email.message.EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    (url,) = re.findall(r"<(http[^>]+)>", header)
    assert url.startswith(f"{SITE}/u/")
    return url.removeprefix(SITE)


def _csrf(html: str) -> str:
    (token,) = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    return token


def test_the_unsubscribe_link_opens_the_preference_page_and_a_get_changes_nothing(
    sink: SmtpSink, follow_up: SubscriptionTopic, newsletter: SubscriptionTopic
) -> None:
    lead = LeadFactory(email="ada@example.com")
    _enrolled(lead, playbook_sequence(weekdays=list(range(7))))
    message = _parsed(sink)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = _one_click_path(message)
    # The link in the body is the same page as the header's.
    assert f"{SITE}{path}" in message.get_body(("plain",)).get_content()

    page = Client().get(path)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Email preferences" in html and "ada@example.com" in html
    # Each topic with its state: the follow-up on by default, the opt-in newsletter off.
    assert f'value="{follow_up.pk}" id="topic-consultation-follow-up" checked' in html
    assert f'value="{newsletter.pk}" id="topic-newsletter">' in html
    assert "The email you came from is part of <strong>Consultation follow-up</strong>" in html
    assert "Stop all emails to <strong>ada@example.com</strong>" in html
    assert _csrf(html)
    assert not ConsentRecord.objects.exists() and not TopicSubscription.objects.exists()
    assert not Suppression.objects.exists()


def test_one_click_in_a_real_message_leaves_only_that_emails_topic(
    sink: SmtpSink, follow_up: SubscriptionTopic, newsletter: SubscriptionTopic
) -> None:
    lead = LeadFactory(email="bo@example.com")
    topics.record_topic_opt_ins(lead=lead, topics=[newsletter], source=ConsentRecord.Source.API)
    drip = playbook_sequence(weekdays=list(range(7)))
    monthly = playbook_sequence(weekdays=list(range(7)), topic=newsletter)
    _enrolled(lead, drip)
    _enrolled(lead, monthly)
    assert len(sink.messages) == 2  # both Day-1 emails went at once
    drip_day_2 = _send_day(lead, drip, 2)
    assert drip_day_2.status == Delivery.Status.SENT
    path = _one_click_path(_parsed(sink))
    assert tokens.read_unsubscribe_token(path.split("/")[2]).delivery_id == drip_day_2.pk

    # RFC 8058: the mail client POSTs this body, with no cookie, no CSRF token, no login.
    response = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9").post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert "no more emails about <strong>Consultation follow-up</strong>" in (
        response.content.decode()
    )
    states = dict(TopicSubscription.objects.filter(lead=lead).values_list("topic__slug", "status"))
    assert states == {"consultation-follow-up": "unsubscribed", "newsletter": "subscribed"}
    assert not Suppression.objects.exists(), "one click leaves one topic, not every email"
    record = ConsentRecord.objects.get(lead=lead, source="one_click")
    assert (record.topic, record.action) == (follow_up, "unsubscribe")
    assert len(record.ip_hash) == 64 and "203.0.113.9" not in record.ip_hash
    assert record.detail.startswith("From the email")
    unsubscribed = Activity.objects.get(lead=lead, kind="unsubscribed")
    assert unsubscribed.metadata == {"delivery_id": drip_day_2.pk, "topic": DEFAULT_TOPIC_SLUG}
    drip_enrollment = Enrollment.objects.get(lead=lead, sequence=drip)
    assert (drip_enrollment.state, drip_enrollment.exit_reason) == ("exited", "unsubscribed")
    assert Enrollment.objects.get(lead=lead, sequence=monthly).state == "active"

    # The newsletter's next email still goes; the follow-up's never does.
    sent_before = len(sink.messages)
    assert _send_day(lead, monthly, 2).status == Delivery.Status.SENT
    assert len(sink.messages) == sent_before + 1
    assert Delivery.objects.get(enrollment=drip_enrollment, step__day=3).status == "cancelled"

    # A second click (or a second copy of the POST) changes and logs nothing more.
    again = Client().post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert again.status_code == 200
    assert ConsentRecord.objects.filter(lead=lead, source="one_click").count() == 1


def test_a_left_topic_is_held_at_send_time_through_a_real_batch(
    sink: SmtpSink, follow_up: SubscriptionTopic
) -> None:
    sequence = playbook_sequence(weekdays=list(range(7)))
    stays, leaves = LeadFactory(email="stays@example.com"), LeadFactory(email="leaves@example.com")
    _enrolled(stays, sequence)
    _enrolled(leaves, sequence)
    step = sequence.steps.get(day=2)
    rows = list(Delivery.objects.filter(step=step).order_by("pk"))
    # The lead leaves after its email was queued (a race the send-time check is for): the
    # row is written directly, as if the change committed between the claim and the send.
    TopicSubscription.objects.create(
        lead=leaves, topic=follow_up, status="unsubscribed", changed_at=timezone.now()
    )
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(status=Delivery.Status.QUEUED)
    before = len(sink.messages)

    outcomes = send_batch(delivery_ids=[r.pk for r in rows])

    by_lead = {row.enrollment.lead.email: outcomes[row.pk] for row in rows}
    assert by_lead == {"stays@example.com": "sent", "leaves@example.com": "unsubscribed from topic"}
    assert sink.recipients()[before:] == ["stays@example.com"]
    held = Delivery.objects.get(enrollment__lead=leaves, step=step)
    assert held.status == Delivery.Status.SKIPPED
    assert held.last_error == "not subscribed to the topic “Consultation follow-up”"


def test_an_opt_in_topic_mails_only_those_who_opted_in_but_transactional_mail_always_goes(
    sink: SmtpSink, newsletter: SubscriptionTopic
) -> None:
    sequence = playbook_sequence(weekdays=list(range(7)), topic=newsletter)
    opted, silent = LeadFactory(email="opted@example.com"), LeadFactory(email="silent@example.com")
    topics.record_topic_opt_ins(lead=opted, topics=[newsletter], source=ConsentRecord.Source.FORM)
    _enrolled(opted, sequence)
    _enrolled(silent, sequence)
    # Day 1 is the answer to the prospect's own request: never topic-gated.
    assert sorted(sink.recipients()) == ["opted@example.com", "silent@example.com"]
    # Enrollment already knew: the lead without the opt-in has no later step scheduled.
    silent_days = Delivery.objects.filter(enrollment__lead=silent).values_list(
        "step__day", flat=True
    )
    assert list(silent_days) == [1]
    assert Delivery.objects.filter(enrollment__lead=opted).count() == 5
    assert _send_day(opted, sequence, 2).status == Delivery.Status.SENT
    assert sink.recipients()[-1] == "opted@example.com"


def test_the_preference_page_saves_choices_with_csrf_and_logs_each_change(
    follow_up: SubscriptionTopic, newsletter: SubscriptionTopic
) -> None:
    lead = LeadFactory(email="cy@example.com")
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    browser = Client(enforce_csrf_checks=True)
    choices = {"action": "save", "topic": [str(newsletter.pk)]}

    forged = browser.post(f"/u/{token}/preferences/", choices)
    assert forged.status_code == 403, "the page's own POST needs its CSRF token"
    assert not ConsentRecord.objects.exists()

    csrf = _csrf(browser.get(f"/u/{token}/").content.decode())
    saved = browser.post(f"/u/{token}/preferences/", {**choices, "csrfmiddlewaretoken": csrf})

    assert saved.status_code == 200
    html = saved.content.decode()
    assert "Your choices are saved." in html
    assert f'value="{newsletter.pk}" id="topic-newsletter" checked' in html
    assert f'value="{follow_up.pk}" id="topic-consultation-follow-up">' in html
    log = list(ConsentRecord.objects.filter(lead=lead).order_by("topic__position"))
    assert [(r.topic, r.action, r.source) for r in log] == [
        (follow_up, "unsubscribe", "preferences"),
        (newsletter, "subscribe", "preferences"),
    ]
    # The words the preference page showed beside the box, not the form's checkbox wording.
    assert log[1].consent_text == "Newsletter: Once a month."
    again = browser.post(f"/u/{token}/preferences/", {**choices, "csrfmiddlewaretoken": csrf})
    assert "Nothing changed" in again.content.decode()
    assert ConsentRecord.objects.filter(lead=lead).count() == 2
    # The saved page's address, reopened: the page again, changing nothing.
    reopened = browser.get(f"/u/{token}/preferences/", follow=True)
    assert reopened.redirect_chain == [(f"/u/{token}/", 302)]
    assert f'value="{newsletter.pk}" id="topic-newsletter" checked' in reopened.content.decode()
    assert ConsentRecord.objects.filter(lead=lead).count() == 2


def test_leaving_everything_needs_an_explicit_opt_in_to_come_back(
    follow_up: SubscriptionTopic, newsletter: SubscriptionTopic
) -> None:
    lead = LeadFactory(email="di@example.com")
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    browser = Client(enforce_csrf_checks=True)
    csrf = _csrf(browser.get(f"/u/{token}/").content.decode())
    url = f"/u/{token}/preferences/"

    gone = browser.post(url, {"action": "everything", "csrfmiddlewaretoken": csrf})
    assert gone.status_code == 200 and "no more emails from us" in gone.content.decode()
    assert Suppression.objects.get(email=lead.email).reason == "unsubscribed"
    everything = ConsentRecord.objects.get(lead=lead)
    assert (everything.topic, everything.action, everything.source) == (
        None,
        "unsubscribe",
        "preferences",
    )

    page = browser.get(f"/u/{token}/").content.decode()
    assert "You unsubscribed from all our emails" in page and 'name="resume"' in page
    # Ticking a topic is not enough after a global unsubscribe ...
    refused = browser.post(
        url, {"action": "save", "topic": [str(follow_up.pk)], "csrfmiddlewaretoken": csrf}
    )
    assert refused.status_code == 400
    assert "tick “Email me again”" in refused.content.decode()
    assert Suppression.objects.filter(email=lead.email).exists()
    assert ConsentRecord.objects.filter(lead=lead).count() == 1

    # ... "Email me again" is the explicit opt-in, logged as its own record.
    back = browser.post(
        url,
        {
            "action": "save",
            "topic": [str(newsletter.pk)],
            "resume": "on",
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert back.status_code == 200
    assert not Suppression.objects.filter(email=lead.email).exists()
    log = [(r.topic, r.action) for r in ConsentRecord.objects.filter(lead=lead).order_by("pk")]
    assert log == [
        (None, "unsubscribe"),
        (None, "subscribe"),
        (follow_up, "unsubscribe"),
        (newsletter, "subscribe"),
    ]


def test_a_bounced_address_cannot_be_resubscribed_from_the_page(
    follow_up: SubscriptionTopic,
) -> None:
    lead = LeadFactory(email="ed@example.com")
    Suppression.objects.create(email=lead.email, reason=Suppression.Reason.BOUNCED)
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    browser = Client()
    page = browser.get(f"/u/{token}/").content.decode()
    assert "We no longer email this address" in page and 'name="topic"' not in page

    # A POST made by hand (the page offers no form) is refused all the same.
    response = browser.post(
        f"/u/{token}/preferences/",
        {
            "action": "save",
            "topic": [str(follow_up.pk)],
            "resume": "on",
        },
    )

    assert response.status_code == 400
    assert "We cannot email this address any more" in response.content.decode()
    assert Suppression.objects.get(email=lead.email).reason == "bounced"
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize("method", ["get", "post one-click", "post preferences"])
@pytest.mark.parametrize("token", ["forged", "altered", "erased"])
def test_bad_links_get_a_clear_400_and_change_nothing(method: str, token: str) -> None:
    lead = LeadFactory(email="fi@example.com")
    good = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    value = {
        "forged": signing.dumps({"l": lead.pk, "k": lead.uid.hex}, salt="another.salt"),
        "altered": good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb"),
        "erased": good,
    }[token]
    if token == "erased":
        erase_lead(lead_id=lead.pk, actor=None, reason="asked")
    before = (ConsentRecord.objects.count(), Suppression.objects.count())
    client = Client()
    if method == "get":
        response = client.get(f"/u/{value}/")
    elif method == "post one-click":
        response = client.post(
            f"/u/{value}/",
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = client.post(f"/u/{value}/preferences/", {"action": "everything"})
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert "fi@example.com" not in response.content.decode()
    assert (ConsentRecord.objects.count(), Suppression.objects.count()) == before


def test_a_malformed_choice_is_a_400_with_a_message(follow_up: SubscriptionTopic) -> None:
    lead = LeadFactory()
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    for topic in ("not-a-number", "999999"):
        response = Client().post(f"/u/{token}/preferences/", {"action": "save", "topic": topic})
        assert response.status_code == 400
        assert 'id="preferences-error"' in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_topic_text_on_the_page_is_text_not_markup(newsletter: SubscriptionTopic) -> None:
    SubscriptionTopic.objects.filter(pk=newsletter.pk).update(
        name="<b>News</b>", description='<a href="https://evil.example">win</a>'
    )
    lead = LeadFactory()
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    html = Client().get(f"/u/{token}/").content.decode()
    assert "&lt;b&gt;News&lt;/b&gt;" in html and "<b>News</b>" not in html
    assert 'href="https://evil.example"' not in html


def test_form_opt_ins_are_unticked_boxes_whose_ticks_are_logged_with_their_words(
    newsletter: SubscriptionTopic, django_capture_on_commit_callbacks: Any
) -> None:
    page = LandingPageFactory()
    newsletter.landing_pages.add(page)
    fields = topics.topic_form_fields(landing_page_id=page.pk)
    assert list(fields) == ["topic_newsletter"]
    box = fields["topic_newsletter"]
    assert (box.label, box.required, box.initial) == (
        "Send me the monthly newsletter.",
        False,
        False,
    )
    assert "checked" not in box.widget.render("topic_newsletter", box.initial)
    assert topics.topic_form_fields(landing_page_id=LandingPageFactory().pk) == {}

    with django_capture_on_commit_callbacks(execute=True):
        capture_submission(
            page=page,
            data={"email": "gil@example.com", "topic_newsletter": True},
            tracking=Tracking(ip="198.51.100.4"),
        )
        capture_submission(
            page=page,
            data={"email": "hal@example.com", "topic_newsletter": False},
            tracking=Tracking(ip="198.51.100.5"),
        )

    record = ConsentRecord.objects.get()
    assert (record.lead.email, record.topic, record.action, record.source) == (
        "gil@example.com",
        newsletter,
        "subscribe",
        "form",
    )
    assert record.consent_text == "Send me the monthly newsletter."
    assert len(record.ip_hash) == 64
    assert TopicSubscription.objects.get().status == "subscribed"


def test_the_lead_page_and_the_privacy_export_show_the_consent_log(
    client: Client, follow_up: SubscriptionTopic, newsletter: SubscriptionTopic
) -> None:
    lead = LeadFactory(email="ivy@example.com")
    with time_machine.travel(MONDAY, tick=False):
        topics.record_topic_opt_ins(
            lead=lead, topics=[newsletter], source=ConsentRecord.Source.FORM, ip_hash="ab" * 32
        )
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        topics.leave_topic(
            lead_id=lead.pk, topic_id=follow_up.pk, source=ConsentRecord.Source.ONE_CLICK
        )

    client.force_login(sales_rep())
    html = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    log = html[html.index('id="consent-log"') :]
    assert log.index("Unsubscribed Consultation follow-up · One-click unsubscribe") < log.index(
        "Subscribed Newsletter · Form · “Send me the monthly newsletter.”"
    )
    assert "✗ Consultation follow-up" in html and "✓ Newsletter" in html

    exported = export_lead_data(lead_id=lead.pk, actor=marketer())
    assert [(e["topic"], e["action"], e["source"]) for e in exported["consent_log"]] == [
        ("Newsletter", "subscribe", "Form"),
        ("Consultation follow-up", "unsubscribe", "One-click unsubscribe"),
    ]
    assert exported["consent_log"][0]["consent_text"] == "Send me the monthly newsletter."
    assert exported["consent_log"][0]["recorded_at"].startswith("2026-03-02T10:00:00")
    assert len(exported["nurture.consentrecord"]) == 2

    erase_lead(lead_id=lead.pk, actor=None, reason="asked")
    assert set(ConsentRecord.objects.filter(lead=lead).values_list("ip_hash", flat=True)) == {""}


def test_a_marketer_gives_a_journey_its_topic_and_manages_topics_in_the_admin(
    client: Client, newsletter: SubscriptionTopic
) -> None:
    client.force_login(marketer())
    form = client.get("/admin/nurture/journey/add/").content.decode()
    assert 'name="topic"' in form and "Consultation follow-up (the default)" in form
    response = client.post(
        "/admin/nurture/journey/add/",
        {
            "name": "Monthly digest",
            "status": "paused",
            "topic": str(newsletter.pk),
            "reentry": "once",
            "reentry_days": "30",
            "window_start_hour": "9",
            "window_end_hour": "17",
            "weekdays": ["0", "1", "2", "3", "4"],
            "fallback_time_zone": "UTC",
            "track_engagement": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Sequence.objects.get(name="Monthly digest").topic == newsletter
    log = client.get("/admin/nurture/consentrecord/")
    assert log.status_code == 200
    assert client.get("/admin/nurture/consentrecord/add/").status_code == 403
