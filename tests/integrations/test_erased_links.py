"""After a privacy erase, every link ever emailed to the person does nothing and stores
nothing: the open pixel, tracked clicks, unsubscribe, confirm and booking links."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client, TestCase

from capture.models import Activity, Lead
from integrations.services.privacy import erase_lead
from nurture.models import Delivery, Enrollment, Suppression, TopicSubscription
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, SequenceFactory, StepFactory

pytestmark = pytest.mark.django_db
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE = "http://localhost:8000"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def _emailed_links() -> tuple[Lead, Delivery, dict[str, str]]:
    lead = LeadFactory(email="ann@example.com", first_name="Ann")
    sequence = SequenceFactory(weekdays=list(range(7)))
    StepFactory(
        sequence=sequence,
        day=1,
        cta_label="Book",
        cta_url="{{ booking_url }}",
        body="See [your plan](https://example.com/plan?email={{ email }}).",
    )
    # The confirm link comes in a double opt-in's own email (a confirmation request, not
    # the step): a second sequence, on a double opt-in page, sends it.
    confirming = SequenceFactory(weekdays=list(range(7)))
    StepFactory(sequence=confirming, day=1)
    with time_machine.travel(SENT_AT, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=lead, sequence=sequence)
        enroll_lead(lead=lead, sequence=confirming, needs_confirmation=True)
    assert isinstance(enrollment, Enrollment)
    html = "".join(str(message.alternatives[0][0]) for message in mail.outbox)
    urls = [unescape(url).removeprefix(SITE) for url in re.findall(r'(?:href|src)="([^"]+)"', html)]
    links = {
        "open": next(url for url in urls if url.startswith("/t/o/")),
        "click": next(url for url in urls if url.startswith("/t/c/")),
        "unsubscribe": next(url for url in urls if url.startswith("/u/")),
        "confirm": next(url for url in urls if url.startswith("/c/")),
    }
    return lead, enrollment.deliveries.get(), links


def test_the_links_work_before_erasure(client: Client) -> None:
    lead, _, links = _emailed_links()
    with time_machine.travel(SENT_AT + timedelta(minutes=5), tick=False):
        assert client.get(links["open"]).status_code == 200
        click = client.get(links["click"], HTTP_USER_AGENT=BROWSER)
    assert click["Location"] == "https://example.com/plan?email=ann%40example.com"
    kinds = set(Activity.objects.filter(lead=lead).values_list("kind", flat=True))
    assert {"email_opened", "email_clicked"} <= kinds


def test_every_emailed_link_of_an_erased_lead_does_nothing(client: Client) -> None:
    lead, delivery, links = _emailed_links()
    erase_lead(lead_id=lead.pk, actor=None, reason="asked by email")
    activities = list(Activity.objects.filter(lead=lead).values_list("pk", "kind", "metadata"))
    suppressions = list(Suppression.objects.values_list("email", "reason"))

    with time_machine.travel(SENT_AT + timedelta(minutes=5), tick=False):
        pixel = client.get(links["open"])
        click = client.get(links["click"], HTTP_USER_AGENT=BROWSER)
        unsubscribe_page = client.get(links["unsubscribe"])
        one_click = client.post(
            links["unsubscribe"],
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        confirm = client.post(links["confirm"])

    # The pixel still answers a GIF (mail clients show a broken image otherwise) ...
    assert (pixel.status_code, pixel["Content-Type"]) == (200, "image/gif")
    # ... the click leads to the site, never to the link that carried the old address ...
    assert (click.status_code, click["Location"]) == (302, f"{SITE}/")
    assert "ann" not in click["Location"]
    # ... and unsubscribe and confirm find no one.
    assert unsubscribe_page.status_code == 400 and one_click.status_code == 400
    assert "ann@example.com" not in unsubscribe_page.content.decode()
    assert confirm.status_code == 400
    # Nothing was stored: no activity, no timestamps, no new suppression entry.
    assert list(Activity.objects.filter(lead=lead).values_list("pk", "kind", "metadata")) == (
        activities
    )
    delivery.refresh_from_db()
    assert (delivery.opened_at, delivery.clicked_at) == (None, None)
    assert list(Suppression.objects.values_list("email", "reason")) == suppressions
    assert not Enrollment.objects.filter(lead=lead, confirmed_at__isnull=False).exists()


def _links_of_the_older_shape(*, lead: Lead, delivery: Delivery) -> dict[str, str]:
    """Links as emails sent before tokens named the lead uid carried them: still in inboxes."""
    salt = "nurture.{}"
    plan = "https://example.com/plan?email=ann%40example.com"
    click = signing.dumps({"d": delivery.pk, "u": plan}, salt=salt.format("click"), compress=True)
    unsubscribe = signing.dumps(
        {"l": lead.pk, "d": delivery.pk}, salt=salt.format("unsubscribe"), compress=True
    )
    return {
        "open": f"/t/o/{signing.dumps(delivery.pk, salt=salt.format('open'))}.gif",
        "click": f"/t/c/{click}/",
        "unsubscribe": f"/u/{unsubscribe}/",
        "confirm": f"/c/{signing.dumps(lead.pk, salt=salt.format('confirm'))}/",
    }


def test_links_emailed_before_tokens_named_the_uid_still_work(client: Client) -> None:
    lead, delivery, _ = _emailed_links()
    links = _links_of_the_older_shape(lead=lead, delivery=delivery)
    with time_machine.travel(SENT_AT + timedelta(minutes=5), tick=False):
        assert client.get(links["open"]).status_code == 200
        click = client.get(links["click"], HTTP_USER_AGENT=BROWSER)
        assert client.post(links["confirm"]).status_code == 200
        unsubscribe = client.post(
            links["unsubscribe"],
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    assert click["Location"] == "https://example.com/plan?email=ann%40example.com"
    assert unsubscribe.status_code == 200
    # One click leaves the topic of the email the link came in (tests/nurture/test_preferences).
    assert TopicSubscription.objects.get(lead=lead).status == "unsubscribed"
    kinds = set(Activity.objects.filter(lead=lead).values_list("kind", flat=True))
    assert {"email_opened", "email_clicked"} <= kinds


def test_links_of_the_older_shape_of_an_erased_lead_do_nothing(client: Client) -> None:
    lead, delivery, _ = _emailed_links()
    links = _links_of_the_older_shape(lead=lead, delivery=delivery)
    erase_lead(lead_id=lead.pk, actor=None, reason="asked by email")
    activities = list(Activity.objects.filter(lead=lead).values_list("pk", "kind", "metadata"))
    suppressions = list(Suppression.objects.values_list("email", "reason"))
    with time_machine.travel(SENT_AT + timedelta(minutes=5), tick=False):
        pixel = client.get(links["open"])
        click = client.get(links["click"], HTTP_USER_AGENT=BROWSER)
        confirm = client.post(links["confirm"])
        unsubscribe = client.post(
            links["unsubscribe"],
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    assert pixel.status_code == 200
    assert (click.status_code, click["Location"]) == (302, f"{SITE}/")
    assert (confirm.status_code, unsubscribe.status_code) == (400, 400)
    assert list(Activity.objects.filter(lead=lead).values_list("pk", "kind", "metadata")) == (
        activities
    )
    assert list(Suppression.objects.values_list("email", "reason")) == suppressions
