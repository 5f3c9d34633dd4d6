"""A known lead's address typed by someone else gives no consent in the lead's name.

Such a submission (unproven: it did not create the lead, and the browser's signed cookie
does not name it) keeps the lead's email consent as it stands (it only fills a blank one),
texts a number only with the consent of whoever gave that number (SMS consent comes only
with a phone it fills), and records no topic opt-in at all. The lead itself (its cookie, a
signed `?lf=` link) changes its consents as before, latest wins."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.test import Client

from capture import services
from capture.models import SMS_CONSENT_TEXT, LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission
from capture.tracking import tracking_token
from nurture.models import ConsentRecord, SubscriptionTopic, TopicSubscription
from nurture.services.topics import leave_topic, record_topic_opt_ins
from tests.capture.ingest.support import api_capture_data, post_json
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db
VICTIM = "victim@example.com"
VICTIMS_PHONE = "+442079460000"
STRANGERS_PHONE = "+442079460999"
AGREED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
VISITED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OLD_WORDS = "I agree to hear about my inquiry (2025 wording)."


@pytest.fixture(autouse=True)
def _visited_at() -> Iterator[None]:
    """Every submission is made at VISITED_AT (the form's start token too, 30 s before)."""
    with time_machine.travel(VISITED_AT, tick=False):
        yield


def _page(**overrides: Any) -> LandingPage:
    return LandingPageFactory(consent_text="Yes, email me about my consultation.", **overrides)


def _victim(**overrides: Any) -> Lead:
    values = {
        "phone": VICTIMS_PHONE,
        "consent_given_at": AGREED_AT,
        "consent_text": OLD_WORDS,
        **overrides,
    }
    return LeadFactory(email=VICTIM, first_name="Vera", company="Victim Co", **values)


def _post_form(client: Client, page: LandingPage, **overrides: Any) -> Any:
    data = valid_form_data(email=VICTIM.upper(), first_name="Attacker", **overrides)
    response = client.post(f"/l/{page.slug}/", data)
    assert response.status_code == 302, response.content.decode()
    return response


def _post_api(client: Client, page: LandingPage, **overrides: Any) -> Any:
    body = api_capture_data(email=VICTIM, first_name="Attacker", **overrides)
    response = post_json(client, f"/api/v1/capture/{page.slug}/", body)
    assert response.status_code == 201, response.content.decode()
    assert response.json()["tracking_token"] is None
    return response


def _prove(client: Client, page: LandingPage, lead: Lead) -> None:
    """The lead's own browser: a signed email link sets its lf_id cookie."""
    client.get(f"/l/{page.slug}/?lf={tracking_token(lead.uid)}")


# SMS consent ------------------------------------------------------------------------------


def test_a_stranger_ticking_text_me_gives_no_sms_consent_for_the_leads_number(
    client: Client,
) -> None:
    page = _page()
    victim = _victim()

    _post_form(client, page, phone="+44 20 7946 0999", sms_consent="on")

    victim.refresh_from_db()
    assert victim.phone == VICTIMS_PHONE
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (None, "")
    assert Submission.objects.get(lead=victim).data["sms_consent"] is True, "what was typed"


def test_through_the_api_a_stranger_gives_no_sms_consent_for_the_leads_number(
    client: Client,
) -> None:
    page = _page()
    victim = _victim()

    _post_api(client, page, phone=VICTIMS_PHONE, sms_consent=True)

    victim.refresh_from_db()
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (None, "")


def test_a_consent_to_texts_given_with_a_blank_phone_filled_comes_with_that_number(
    client: Client,
) -> None:
    page = _page()
    victim = _victim(phone="")

    _post_form(client, page, phone="+44 20 7946 0999", sms_consent="on")

    victim.refresh_from_db()
    assert victim.phone == STRANGERS_PHONE
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (VISITED_AT, SMS_CONSENT_TEXT)


def test_a_tick_without_a_number_gives_no_sms_consent_to_a_lead_without_one(
    client: Client,
) -> None:
    page = _page()
    victim = _victim(phone="")

    _post_api(client, page, sms_consent=True)

    victim.refresh_from_db()
    assert (victim.phone, victim.sms_consent_given_at) == ("", None)


def test_a_strangers_tick_leaves_the_leads_own_sms_consent_as_it_gave_it(client: Client) -> None:
    page = _page()
    victim = _victim(sms_consent_given_at=AGREED_AT, sms_consent_text="Text me (old words)")

    _post_form(client, page, phone="+44 20 7946 0000", sms_consent="on")

    victim.refresh_from_db()
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (
        AGREED_AT,
        "Text me (old words)",
    )


def test_the_lead_itself_gives_sms_consent_for_its_stored_number(client: Client) -> None:
    page = _page()
    victim = _victim()
    _prove(client, page, victim)

    _post_form(client, page, phone="+44 20 7946 0000", sms_consent="on")

    victim.refresh_from_db()
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (VISITED_AT, SMS_CONSENT_TEXT)


# Email consent ----------------------------------------------------------------------------


def test_a_strangers_visit_does_not_replace_the_leads_proof_of_consent(client: Client) -> None:
    page = _page()
    victim = _victim()

    _post_form(client, page, consent="on")

    victim.refresh_from_db()
    assert (victim.consent_given_at, victim.consent_text) == (AGREED_AT, OLD_WORDS)


def test_through_the_api_a_stranger_does_not_replace_the_proof_of_consent(
    client: Client,
) -> None:
    page = _page()
    victim = _victim()

    _post_api(client, page, consent=True)

    victim.refresh_from_db()
    assert (victim.consent_given_at, victim.consent_text) == (AGREED_AT, OLD_WORDS)


def test_a_lead_without_a_consent_gets_the_one_given_with_its_address(client: Client) -> None:
    page = _page()
    victim = _victim(consent_given_at=None, consent_text="")

    _post_api(client, page, consent=True)

    victim.refresh_from_db()
    assert (victim.consent_given_at, victim.consent_text) == (VISITED_AT, page.consent_text)


def test_the_lead_itself_renews_its_consent_latest_wins(client: Client) -> None:
    page = _page()
    victim = _victim()
    _prove(client, page, victim)

    _post_form(client, page, consent="on")

    victim.refresh_from_db()
    assert (victim.consent_given_at, victim.consent_text) == (VISITED_AT, page.consent_text)


@pytest.mark.parametrize("portable", [False, True], ids=["statement", "orm"])
def test_both_store_paths_keep_the_consents_of_a_known_lead_unless_it_is_proven(
    portable: bool,
) -> None:
    page = _page()
    victim = _victim()
    store = services._store_capture_portably if portable else services._store_capture

    def capture(**kwargs: Any) -> None:
        with mock.patch.object(services, "_store_capture", store):
            capture_submission(
                page=page,
                data={"email": VICTIM, "phone": STRANGERS_PHONE},
                tracking=Tracking(),
                consent_given=True,
                sms_consent_given=True,
                **kwargs,
            )
        victim.refresh_from_db()

    capture()
    assert (victim.phone, victim.consent_given_at, victim.consent_text) == (
        VICTIMS_PHONE,
        AGREED_AT,
        OLD_WORDS,
    )
    assert victim.sms_consent_given_at is None

    capture(returning=victim)
    assert (victim.phone, victim.consent_given_at, victim.consent_text) == (
        STRANGERS_PHONE,
        VISITED_AT,
        page.consent_text,
    )
    assert (victim.sms_consent_given_at, victim.sms_consent_text) == (VISITED_AT, SMS_CONSENT_TEXT)


# Topics -----------------------------------------------------------------------------------


@pytest.fixture
def events(db: None) -> SubscriptionTopic:
    return SubscriptionTopic.objects.create(
        name="Events (test)",
        slug="events-test",
        consent_text="Yes, invite me to events.",
        requires_opt_in=True,
    )


def _events_page(events: SubscriptionTopic) -> LandingPage:
    page = _page()
    events.landing_pages.add(page)
    return page


def test_a_strangers_tick_does_not_resubscribe_a_topic_the_lead_left(
    client: Client, events: SubscriptionTopic, django_capture_on_commit_callbacks: Any
) -> None:
    page = _events_page(events)
    victim = _victim()
    record_topic_opt_ins(lead=victim, topics=[events], source=ConsentRecord.Source.FORM)
    leave_topic(lead_id=victim.pk, topic_id=events.pk, source=ConsentRecord.Source.PREFERENCES)

    with django_capture_on_commit_callbacks(execute=True):
        _post_form(client, page, **{"topic_events-test": "on"})

    assert Submission.objects.get(lead=victim).processed_at is not None, "it was announced"
    state = TopicSubscription.objects.get(lead=victim, topic=events)
    assert state.status == TopicSubscription.Status.UNSUBSCRIBED
    assert list(
        ConsentRecord.objects.filter(lead=victim).order_by("pk").values_list("action", flat=True)
    ) == ["subscribe", "unsubscribe"]


def test_a_strangers_tick_subscribes_a_lead_to_no_topic_at_all(
    client: Client, events: SubscriptionTopic, django_capture_on_commit_callbacks: Any
) -> None:
    page = _events_page(events)
    victim = _victim()

    with django_capture_on_commit_callbacks(execute=True):
        _post_form(client, page, **{"topic_events-test": "on"})

    assert not TopicSubscription.objects.filter(lead=victim).exists()
    assert not ConsentRecord.objects.filter(lead=victim).exists()


def test_the_lead_itself_subscribes_again_from_the_form(
    client: Client, events: SubscriptionTopic, django_capture_on_commit_callbacks: Any
) -> None:
    page = _events_page(events)
    victim = _victim()
    leave_topic(lead_id=victim.pk, topic_id=events.pk, source=ConsentRecord.Source.PREFERENCES)
    _prove(client, page, victim)

    with django_capture_on_commit_callbacks(execute=True):
        _post_form(client, page, **{"topic_events-test": "on"})

    assert TopicSubscription.objects.get(lead=victim, topic=events).status == (
        TopicSubscription.Status.SUBSCRIBED
    )
    record = ConsentRecord.objects.filter(lead=victim).latest("pk")
    assert (record.action, record.source, record.consent_text) == (
        "subscribe",
        "form",
        events.consent_text,
    )
    assert Submission.objects.get(lead=victim).proven is True


def test_a_new_leads_own_tick_subscribes_it(
    client: Client, events: SubscriptionTopic, django_capture_on_commit_callbacks: Any
) -> None:
    page = _events_page(events)

    with django_capture_on_commit_callbacks(execute=True):
        _post_form(client, page, **{"topic_events-test": "on"})

    lead = Lead.objects.get(email=VICTIM)
    assert TopicSubscription.objects.get(lead=lead, topic=events).status == (
        TopicSubscription.Status.SUBSCRIBED
    )
    submission = Submission.objects.get(lead=lead)
    assert (submission.created_lead, submission.proven) == (True, True)
