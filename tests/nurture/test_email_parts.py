"""The text part is the same email as the HTML part, and a double opt-in email is a request
to confirm (issue 14, bodies): every link once in each part, none only in one."""

import re
from collections import Counter
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse

from capture.models import LandingPage
from nurture.demo import PLAYBOOK, seed_default_sequence
from nurture.models import Delivery, Enrollment
from nurture.services.composing import build_message
from nurture.services.scheduling import enroll_lead
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory, SequenceFactory, StepFactory

pytestmark = pytest.mark.django_db
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE = "http://localhost:8000"
_TEXT_LINK = re.compile(r"https?://[^\s()<>]+")


def _html_links(message: Any) -> Counter[str]:
    """The HTML part's links and images, as a client follows them, less the open pixel."""
    html = str(message.alternatives[0][0])
    urls = [unescape(url) for url in re.findall(r'(?:href|src)="([^"]*)"', html)]
    return Counter(url for url in urls if not url.startswith(f"{SITE}/t/o/"))


def _text_links(message: Any) -> Counter[str]:
    return Counter(_TEXT_LINK.findall(message.body))


def _confirmed_deliveries(*, page: LandingPage, **lead: Any) -> list[Delivery]:
    sequence = seed_default_sequence(page=page)
    enrollment = enroll_lead(lead=LeadFactory(**lead), sequence=sequence)
    assert isinstance(enrollment, Enrollment)
    return list(enrollment.deliveries.select_related("step").order_by("step__day"))


def test_it_gives_every_demo_step_the_same_links_once_in_each_part() -> None:
    deliveries = _confirmed_deliveries(page=LandingPageFactory(), company="Fieldstone")
    assert [d.step.day for d in deliveries] == [step["day"] for step in PLAYBOOK]

    for delivery in deliveries:
        message = build_message(delivery=delivery)
        html_links, text_links = _html_links(message), _text_links(message)
        assert text_links == html_links, delivery.step.day
        assert set(text_links.values()) == {1}, (delivery.step.day, text_links)
        unsubscribe = [url for url in text_links if url.startswith(f"{SITE}/u/")]
        assert len(unsubscribe) == 1, delivery.step.day
    day7 = build_message(delivery=deliveries[-1])
    (button,) = [url for url in _html_links(day7) if url.startswith(f"{SITE}/t/c/")]
    assert f"Book my consultation: {button}\n" in day7.body


def test_it_tracks_a_body_link_the_same_way_in_both_parts() -> None:
    """Markdown links in the body: the text part used to carry the raw address (untracked,
    and unencoded where a merge value sits in it) while the HTML had the tracked one."""
    sequence = SequenceFactory(weekdays=list(range(7)), track_engagement=True)
    StepFactory(
        sequence=sequence,
        day=1,
        cta_label="Book",
        cta_url="{{ booking_url }}",
        body="Read [the guide](https://example.com/guide?who={{ first_name }}) "
        "or [book a call]({{ booking_url }}).",
    )
    with time_machine.travel(SENT_AT, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enroll_lead(lead=LeadFactory(first_name="Ada Mae"), sequence=sequence)
    (message,) = mail.outbox

    html_links, text_links = _html_links(message), _text_links(message)
    assert text_links == html_links
    tracked = [url for url in text_links if url.startswith(f"{SITE}/t/c/")]
    # The guide once; the booking page twice (the body's link and the button), in both.
    assert sorted(text_links[url] for url in tracked) == [1, 2]
    assert "https://example.com/guide" not in message.body


def test_a_double_opt_in_email_asks_to_confirm_with_one_link_in_each_part(
    client: Client,
) -> None:
    page = LandingPageFactory(double_opt_in=True)
    seed_default_sequence(page=page)
    with time_machine.travel(SENT_AT, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            reverse("capture:landing_page", kwargs={"slug": page.slug}),
            valid_form_data(email="careful@example.com", first_name="Cy"),
        )
    assert response.status_code in (200, 302)
    (message,) = mail.outbox

    assert message.subject == "Please confirm your email address"
    assert message.subject != PLAYBOOK[0]["subject"].replace("{{ first_name }}", "Cy")
    assert message.body.startswith("Hi Cy,\n\nThank you for your request. Please confirm your")
    assert "A real person on our team has your request" not in message.body
    html = str(message.alternatives[0][0])
    assert "Please confirm your email address" in html and ">Confirm my email address</a>" in html
    html_links, text_links = _html_links(message), _text_links(message)
    assert text_links == html_links and set(text_links.values()) == {1}
    (confirm,) = [url for url in text_links if url.startswith(f"{SITE}/c/")]
    assert f"Confirm my email address: {confirm}\n" in message.body
    assert sorted(url.removeprefix(SITE)[:3] for url in text_links) == ["/c/", "/u/"]
