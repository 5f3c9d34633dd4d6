import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase

from capture.models import Activity
from nurture import tokens
from nurture.models import Enrollment, Suppression, TopicSubscription
from nurture.services.dispatching import hand_out_due
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


@pytest.fixture
def enrollment() -> Enrollment:
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(SENT_AT, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enrolled = enroll_lead(lead=LeadFactory(first_name="Ada"), sequence=sequence)
    assert enrolled is not None
    return enrolled


def _links(html: str, kind: str) -> list[str]:
    return re.findall(rf'(?:href|src)="http://localhost:8000(/t/{kind}/[^"]+|/u/[^"]+)"', html)


def test_one_click_unsubscribe_stops_every_later_email(
    client: Client, enrollment: Enrollment
) -> None:
    unsubscribe = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = unsubscribe.removeprefix("http://localhost:8000")
    # RFC 8058: the mail client POSTs this body, with no cookie, no CSRF token, no login.
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    # It leaves the topic of that email, not every email (tests/nurture/test_preferences.py).
    left = TopicSubscription.objects.get(lead=enrollment.lead, topic=enrollment.sequence.topic)
    assert left.status == "unsubscribed" and not Suppression.objects.exists()
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "unsubscribed")
    assert Activity.objects.filter(lead=enrollment.lead, kind="unsubscribed").count() == 1
    with time_machine.travel(SENT_AT + timedelta(days=8), tick=False):
        hand_out_due()
    assert len(mail.outbox) == 1, "no later step goes out"
    again = Client().post(path)
    assert again.status_code == 200
    assert Activity.objects.filter(lead=enrollment.lead, kind="unsubscribed").count() == 1


def test_a_get_only_asks_for_confirmation(client: Client, enrollment: Enrollment) -> None:
    token = tokens.unsubscribe_token(lead_id=enrollment.lead_id, lead_uid=enrollment.lead.uid)
    response = client.get(f"/u/{token}/")
    assert response.status_code == 200
    assert "Stop all emails to" in response.content.decode()
    assert not Suppression.objects.exists(), "a scanner's GET never unsubscribes"


@pytest.mark.parametrize("path", ["/u/forged-token/", "/u/eyJsIjoxfQ:1abc:tampered/"])
def test_a_tampered_unsubscribe_link_is_refused(
    client: Client, enrollment: Enrollment, path: str
) -> None:
    response = client.post(path)
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert not Suppression.objects.exists()


def test_the_open_pixel_records_an_open(client: Client, enrollment: Enrollment) -> None:
    html = mail.outbox[0].alternatives[0][0]
    (pixel,) = re.findall(r'src="http://localhost:8000(/t/o/[^"]+)"', html)
    response = client.get(pixel)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    day1 = enrollment.deliveries.get(step__day=1)
    assert day1.opened_at is not None
    assert Activity.objects.filter(lead=enrollment.lead, kind="email_opened").count() == 1


def test_a_click_is_recorded_and_redirects_to_the_signed_url(
    client: Client, enrollment: Enrollment
) -> None:
    html = mail.outbox[0].alternatives[0][0]
    (link,) = re.findall(r'href="http://localhost:8000(/t/c/[^"]+)"', html)
    with time_machine.travel(SENT_AT + timedelta(minutes=5), tick=False):
        response = client.get(link, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/guide?a=1&b=2"
    click = Activity.objects.get(lead=enrollment.lead, kind="email_clicked")
    assert click.metadata["link"] == "https://example.com/guide?a=1&b=2"
    assert enrollment.deliveries.get(step__day=1).clicked_at is not None


@pytest.mark.parametrize(
    ("agent", "delay"),
    [
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", timedelta(minutes=5)),
        ("", timedelta(minutes=5)),
        (BROWSER, timedelta(seconds=2)),
    ],
)
def test_scanner_clicks_are_kept_apart_and_not_scored(
    client: Client, enrollment: Enrollment, agent: str, delay: timedelta
) -> None:
    html = mail.outbox[0].alternatives[0][0]
    (link,) = re.findall(r'href="http://localhost:8000(/t/c/[^"]+)"', html)
    with time_machine.travel(SENT_AT + delay, tick=False):
        response = client.get(link, HTTP_USER_AGENT=agent)
    assert response.status_code == 302, "the scanner still gets the page"
    assert not Activity.objects.filter(kind="email_clicked").exists()
    automated = Activity.objects.get(lead=enrollment.lead, kind="custom")
    assert automated.metadata["event"] == "automated_click"
    assert enrollment.deliveries.get(step__day=1).clicked_at is None


def test_a_click_token_cannot_redirect_elsewhere(client: Client, enrollment: Enrollment) -> None:
    uid = enrollment.lead.uid
    token = tokens.click_token(delivery_id=1, lead_uid=uid, url="https://example.com/")
    forged = token.replace(token.split(":")[0], "eyJkIjoxLCJ1IjoiaHR0cHM6Ly9ldmlsLmV4YW1wbGUifQ")
    javascript = tokens.click_token(delivery_id=1, lead_uid=uid, url="javascript:alert(1)")
    # Forged, cut short by a mail client, or not a web address: our home page, no click.
    for path in (
        f"/t/c/{forged}/",
        "/t/c/not-a-token/",
        f"/t/c/{token[:-6]}/",
        f"/t/c/{javascript}/",
    ):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"{settings.SITE_URL}/")
    assert not Activity.objects.filter(kind="email_clicked").exists()
    assert client.get("/t/o/not-a-token.gif").status_code == 404


def test_unsubscribe_page_escapes_the_address(client: Client) -> None:
    lead = LeadFactory(email="x@example.com")
    token = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
    html = client.get(f"/u/{token}/").content.decode()
    assert "x@example.com" in html
