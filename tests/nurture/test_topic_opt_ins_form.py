"""A landing page's topic opt-ins on its form: unticked checkboxes with the topic's consent
text; a ticked one subscribes the lead, logged as a form consent with those words."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from nurture.models import ConsentRecord, SubscriptionTopic, TopicSubscription
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db
EVENTS_TEXT = "Yes, invite me to events (about four a year)."


@pytest.fixture
def page() -> Any:
    landing = LandingPageFactory()
    events = SubscriptionTopic.objects.create(
        name="Events (test)", slug="events-test", consent_text=EVENTS_TEXT, requires_opt_in=True
    )
    events.landing_pages.add(landing)
    SubscriptionTopic.objects.create(name="Elsewhere", slug="elsewhere")  # not on this page
    return landing


def test_the_form_offers_the_pages_topics_unticked(client: Client, page: Any) -> None:
    html = client.get(reverse("capture:landing_page", args=[page.slug])).content.decode()
    assert EVENTS_TEXT in html
    box = html[
        html.index('name="topic_events-test"') - 200 : html.index('name="topic_events-test"') + 200
    ]
    assert 'type="checkbox"' in box and "checked" not in box
    assert 'name="topic_elsewhere"' not in html


@pytest.mark.parametrize("ticked", [True, False])
def test_a_ticked_box_subscribes_with_its_words_and_an_unticked_one_does_nothing(
    client: Client, page: Any, ticked: bool, django_capture_on_commit_callbacks: Any
) -> None:
    data = valid_form_data(**({"topic_events-test": "on"} if ticked else {}))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("capture:landing_page", args=[page.slug]), data)
    assert response.status_code == 302
    lead = Lead.objects.get(email="ada@example.com")
    records = ConsentRecord.objects.filter(lead=lead, topic__slug="events-test")
    if ticked:
        record = records.get()
        assert (record.action, record.source, record.consent_text) == (
            "subscribe",
            "form",
            EVENTS_TEXT,
        )
        assert TopicSubscription.objects.get(lead=lead, topic__slug="events-test").status == (
            "subscribed"
        )
    else:
        assert not records.exists()
        assert not TopicSubscription.objects.filter(lead=lead, topic__slug="events-test").exists()


def test_a_topic_without_its_own_words_logs_the_label_the_form_showed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    landing = LandingPageFactory()
    news = SubscriptionTopic.objects.create(name="Product news", slug="news", consent_text="")
    news.landing_pages.add(landing)
    url = reverse("capture:landing_page", args=[landing.slug])
    assert "Email me about Product news" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, valid_form_data(**{"topic_news": "on"}))

    record = ConsentRecord.objects.get(topic=news)
    assert (record.source, record.consent_text) == ("form", "Email me about Product news")
