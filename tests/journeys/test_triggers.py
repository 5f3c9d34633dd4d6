"""Every entry trigger end to end, from the public path that produces its fact: a landing
page POST, track.js's beacon and the activities API, a tracked email click, the booking
page's cancel, Postmark's bounce webhook, rescoring, and a rep's stage move."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from capture.models import Activity, Lead
from capture.tracking import tracking_token
from leadfunnel.groups import SALES_REPS
from nurture.models import Enrollment, Trigger
from nurture.services.scheduling import enroll_lead
from nurture.tokens import booking_token
from sales.models import RepProfile
from tests.capture.ingest.support import post_json, token_client
from tests.factories import (
    EngagementRuleFactory,
    LandingPageFactory,
    LeadFactory,
    marketer,
    playbook_sequence,
    sales_rep,
)
from tests.journeys.triggering import entered, journey

pytestmark = pytest.mark.django_db(transaction=True)

# Monday 2 March 2026, 07:00 UTC (08:00 in Berlin).
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
PRICING = "https://www.example.com/pricing?plan=team"


def _beacon(client: Client, lead: Lead, *urls: str) -> None:
    body = {
        "token": tracking_token(lead.uid),
        "events": [{"url": url, "title": "T"} for url in urls],
    }
    response = client.generic(
        "POST", "/api/v1/track/", json.dumps(body), content_type="text/plain;charset=UTF-8"
    )
    assert response.status_code == 204, response.content


def _activities(body: dict[str, Any]) -> None:
    response = post_json(token_client(marketer()), "/api/v1/activities/", body)
    assert response.status_code == 201, response.content


def test_a_landing_page_post_enters_its_journeys_and_the_day_list_too(submit: Any) -> None:
    page, other = LandingPageFactory(), LandingPageFactory()
    this_page = journey(Trigger.Kind.FORM, {"page": page.pk}, name="This page")
    journey(Trigger.Kind.FORM, {}, name="Any page")
    journey(Trigger.Kind.FORM, {"page": other.pk}, name="Other page")
    day_list = playbook_sequence(
        page=page, weekdays=list(range(7)), window_start_hour=0, window_end_hour=24
    )

    response = submit(page, email="grace@example.com")

    assert response.status_code in (200, 302), response.content
    lead = Lead.objects.get(email="grace@example.com")
    assert entered(lead) == {
        "This page": "Landing-page submission",
        "Any page": "Landing-page submission",
    }
    assert Enrollment.objects.filter(lead=lead, sequence=day_list).exists(), "day list kept"
    subjects = {message.subject for message in mail.outbox}
    assert {"Hello from This page", "Hello from Any page"} <= subjects
    assert "Hello from Other page" not in subjects
    assert this_page.enrollments.get().deliveries.get().status == "sent"


def test_two_pricing_views_within_a_week_from_the_beacon_enter_the_journey(
    client: Client,
) -> None:
    journey(
        Trigger.Kind.PAGE_VIEW,
        {"url": "/pricing", "count": 2, "within_days": 7},
        name="Pricing twice",
    )
    lead, slow = LeadFactory(), LeadFactory()
    with time_machine.travel(NOW, tick=False):
        _beacon(client, lead, PRICING)
        _beacon(client, slow, PRICING)
    assert entered(lead) == {}, "one view is not two"
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        _beacon(client, lead, "https://www.example.com/blog")
        assert entered(lead) == {}, "the blog is not pricing"
        _beacon(client, lead, "https://www.example.com/PRICING")
    assert entered(lead) == {"Pricing twice": "Page view: https://www.example.com/PRICING"}
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        _beacon(client, slow, PRICING)
    assert entered(slow) == {}, "eight days apart is not within a week"


def test_every_view_of_a_beacon_counts_not_only_the_newest(client: Client) -> None:
    # track.js queues views: /pricing then /blog arrive in one beacon, announced once.
    journey(Trigger.Kind.PAGE_VIEW, {"url": "*/pricing*"}, name="Pricing")
    lead = LeadFactory()
    with time_machine.travel(NOW, tick=False):
        _beacon(client, lead, PRICING, "https://www.example.com/blog")
    assert entered(lead) == {"Pricing": f"Page view: {PRICING}"}


def test_a_page_view_from_the_activities_api_enters_the_journey() -> None:
    journey(Trigger.Kind.PAGE_VIEW, {"url": "/pricing"}, name="Pricing")
    journey(Trigger.Kind.PAGE_VIEW, {"url": "/careers"}, name="Careers")
    lead = LeadFactory(email="ada@example.com")
    _activities({"kind": "page_viewed", "email": "ada@example.com", "url": PRICING})
    assert entered(lead) == {"Pricing": f"Page view: {PRICING}"}
    assert [m.subject for m in mail.outbox] == ["Hello from Pricing"]


def test_a_custom_event_from_the_api_enters_journeys_waiting_for_that_name() -> None:
    journey(Trigger.Kind.CUSTOM_EVENT, {"name": "Webinar_Registered"}, name="Webinar")
    journey(Trigger.Kind.CUSTOM_EVENT, {"name": "trial_started"}, name="Trial")
    lead = LeadFactory()
    _activities(
        {
            "events": [
                {"kind": "custom", "lead": lead.pk, "name": "webinar_registered"},
                {"kind": "custom", "lead": lead.pk, "name": "newsletter_opened"},
            ]
        }
    )
    assert entered(lead) == {"Webinar": "Custom event: webinar_registered"}


def test_a_click_on_a_given_link_through_the_tracked_redirect_enters_the_journey(
    client: Client,
) -> None:
    journey(Trigger.Kind.LINK_CLICK, {"url": "example.com/guide"}, name="Read the guide")
    journey(Trigger.Kind.LINK_CLICK, {"url": "/pricing"}, name="Pricing link")
    lead = LeadFactory()
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(NOW.replace(hour=9), tick=False):
        enroll_lead(lead=lead, sequence=sequence)
    html = mail.outbox[0].alternatives[0][0]
    (link,) = re.findall(r'href="http://localhost:8000(/t/c/[^"]+)"', html)
    with time_machine.travel(NOW.replace(hour=10), tick=False):
        response = client.get(link, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert entered(lead) == {"Read the guide": "Clicked a link: https://example.com/guide?a=1&b=2"}


def _rep() -> RepProfile:
    user = User.objects.create_user("rita", email="rita@leadfunnel.example")
    user.groups.add(Group.objects.get(name=SALES_REPS))
    hours = {str(day): [["09:00", "17:00"]] for day in range(5)}
    return RepProfile.objects.create(
        user=user, time_zone="Europe/Berlin", weekly_hours=hours, slot_minutes=30
    )


def test_cancelling_a_booking_on_the_booking_page_enters_the_journey(client: Client) -> None:
    journey(Trigger.Kind.BOOKING_CANCELLED, name="Win them back")
    _rep()
    lead = LeadFactory(time_zone="Europe/Berlin")
    link = f"/book/{booking_token(lead_uid=str(lead.uid))}/"
    with time_machine.travel(NOW, tick=False):
        assert client.post(link, {"slot": "2026-03-02T13:00:00+00:00"}).status_code == 302
        # A reschedule replaces the booking: that is no cancellation.
        assert client.post(link, {"slot": "2026-03-02T14:00:00+00:00"}).status_code == 302
        assert entered(lead) == {}
        assert client.post(link + "cancel/").status_code == 200
    assert entered(lead) == {"Win them back": "Booking cancelled"}


def test_a_bounce_reported_by_postmark_enters_the_bounce_journey(
    client: Client, settings: Any
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    journey(Trigger.Kind.EMAIL_BOUNCED, name="Fix the address")
    lead = LeadFactory(email="bouncy@example.com")
    response = client.post(
        "/anymail/postmark/tracking/",
        json.dumps(
            {
                "RecordType": "Bounce",
                "Type": "HardBounce",
                "TypeCode": 1,
                "MessageID": "pm-unknown",
                "Email": "bouncy@example.com",
                "BouncedAt": "2026-03-02T09:01:00Z",
                "Description": "No such user.",
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {base64.b64encode(b'hook:s3cret').decode()}",
    )
    assert response.status_code == 200
    assert entered(lead) == {"Fix the address": "Email bounced: bounced"}
    assert not mail.outbox, "the address is suppressed: the journey's email is not sent"


def test_score_and_temperature_crossings_from_rescoring_enter_their_journeys() -> None:
    EngagementRuleFactory(activity_kind=Activity.Kind.CUSTOM, points=35, decays=False)
    journey(Trigger.Kind.SCORE, {"at_least": 30}, name="Score 30")
    journey(Trigger.Kind.TEMPERATURE, {"temperature": "hot"}, name="Hot")
    journey(Trigger.Kind.TEMPERATURE, {"temperature": "warm"}, name="Warm")
    lead = LeadFactory()
    _activities({"kind": "custom", "lead": lead.pk, "name": "demo_watched"})
    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (35, "warm")
    assert entered(lead) == {"Score 30": "Score reached: 35", "Warm": "Temperature reached: warm"}
    _activities({"kind": "custom", "lead": lead.pk, "name": "demo_watched"})
    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (70, "hot")
    assert entered(lead) == {
        "Score 30": "Score reached: 35",
        "Warm": "Temperature reached: warm",
        "Hot": "Temperature reached: hot",
    }
    assert Enrollment.objects.filter(lead=lead, sequence__name="Score 30").count() == 1


def test_a_reps_stage_move_on_the_dashboard_enters_the_stage_journey(client: Client) -> None:
    journey(Trigger.Kind.STAGE, {"stage": "contacted"}, name="After the first call")
    journey(Trigger.Kind.STAGE, {"stage": "won"}, name="Welcome aboard")
    lead = LeadFactory()
    client.force_login(sales_rep())
    response = client.post(reverse("sales:move_stage", args=[lead.pk]), {"stage": "contacted"})
    assert response.status_code == 302
    assert entered(lead) == {"After the first call": "Stage changed to: contacted"}
