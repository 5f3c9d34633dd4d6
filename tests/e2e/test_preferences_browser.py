"""The preference page in a real browser (the e2e suite's Chromium): the link of a
real email opens it, the prospect changes topics and saves (CSRF cookie and token as a
browser sends them), then leaves everything. Screenshots go to var/screenshots/."""

from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase
from playwright.sync_api import Browser, expect

from nurture.demo import seed_demo_topics
from nurture.models import ConsentRecord, SubscriptionTopic, Suppression, TopicSubscription
from nurture.services.composing import delivery_links
from nurture.services.scheduling import enroll_lead
from tests.factories import LandingPageFactory, LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_a_prospect_manages_topics_and_then_leaves_everything(
    browser: Browser, live_server: Any, settings: Any
) -> None:
    settings.SITE_URL = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = LandingPageFactory()
    newsletter, events = seed_demo_topics(page=page)
    lead = LeadFactory(email="zoe@example.com", first_name="Zoe")
    with TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=lead, sequence=playbook_sequence(weekdays=list(range(7))))
    assert enrollment is not None
    url = delivery_links(delivery=enrollment.deliveries.get(step__day=2)).unsubscribe_url
    tab = browser.new_page(viewport={"width": 900, "height": 900})

    tab.goto(url)
    expect(tab.get_by_role("heading", name="Email preferences")).to_be_visible()
    follow_up = tab.get_by_label("Consultation follow-up")
    expect(follow_up).to_be_checked()
    expect(tab.get_by_label("Newsletter")).not_to_be_checked()
    tab.screenshot(path=SHOTS / "preferences.png", full_page=True)

    follow_up.uncheck()
    tab.get_by_label("Newsletter").check()
    tab.get_by_role("button", name="Save my choices").click()
    expect(tab.get_by_role("status")).to_contain_text("Your choices are saved.")
    expect(tab.get_by_label("Newsletter")).to_be_checked()
    tab.screenshot(path=SHOTS / "preferences_saved.png", full_page=True)
    states = dict(TopicSubscription.objects.filter(lead=lead).values_list("topic__slug", "status"))
    assert states == {"consultation-follow-up": "unsubscribed", "newsletter": "subscribed"}
    assert newsletter.pk != events.pk

    tab.get_by_role("button", name="Unsubscribe from everything").click()
    expect(tab.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert Suppression.objects.filter(email=lead.email).exists()

    # Back on the page, only an explicit "Email me again" would bring the emails back.
    tab.goto(url)
    expect(tab.get_by_text("You unsubscribed from all our emails")).to_be_visible()
    tab.get_by_role("button", name="Save my choices").click()
    expect(tab.locator("#preferences-error")).to_contain_text("tick “Email me again”")
    tab.screenshot(path=SHOTS / "preferences_resume_needed.png", full_page=True)
    sources = set(ConsentRecord.objects.filter(lead=lead).values_list("source", flat=True))
    assert sources == {"preferences"}
    assert SubscriptionTopic.objects.count() == 3
