"""What goes into nurture emails, their previews and their links, as hostile prospects and
careful marketers would try it: merge values stay text, clicks lead only to the step's own
links, previews escape everything and are of a lead the marketer chose, tests are the real
email with links that say they are a test."""

import re
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase
from django.utils.html import escape

from capture.models import Activity, Lead
from nurture import tokens
from nurture.models import Delivery, Enrollment, Step, Suppression
from nurture.services.scheduling import enroll_lead
from tests.factories import LeadFactory, SequenceFactory, StepFactory, marketer

pytestmark = pytest.mark.django_db
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE = "http://localhost:8000"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
PHISHING_NAME = "[Verify your account](https://evil.example/login) ![x](https://evil.example/p.png)"
META_REFRESH = '</pre><meta http-equiv=refresh content="0;url=http://attacker/phish">'
BODY = (
    "Hi {{ first_name }},\n\nRead [the guide](https://example.com/guide?who={{ first_name }}) "
    "or [book a call]({{ booking_url }})."
)


def _sent_to(lead: Lead, *, body: str = BODY, **step: Any) -> tuple[Delivery, Any]:
    """Enroll `lead` in a one-step sequence and return its Day-1 delivery and message."""
    sequence = SequenceFactory(weekdays=list(range(7)))
    StepFactory(sequence=sequence, day=1, subject="Hello {{ first_name }}", body=body, **step)
    with time_machine.travel(SENT_AT, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert isinstance(enrollment, Enrollment)
    delivery = enrollment.deliveries.get()
    assert delivery.status == "sent"
    return delivery, mail.outbox[-1]


def _html(message: Any) -> str:
    return str(message.alternatives[0][0])


def _attribute_urls(html: str) -> list[str]:
    return [unescape(url) for url in re.findall(r'(?:href|src)="([^"]*)"', html)]


def _tracked_url(link: str) -> str:
    """Where a tracked link of ours leads, read from its signed token."""
    return tokens.read_click_token(link.removeprefix(f"{SITE}/t/c/").rstrip("/")).url


def _marketer(client: Client) -> User:
    user = marketer()
    user.email = "me@leadfunnel.example"
    user.save(update_fields=["email"])
    client.force_login(user)
    return user


# Item 2: merge values are text, never Markdown ---------------------------------------------


def test_a_first_name_written_as_markdown_stays_text_in_both_parts() -> None:
    lead = LeadFactory(first_name=PHISHING_NAME)

    _, message = _sent_to(lead)

    html = _html(message)
    urls = _attribute_urls(html)
    assert not [url for url in urls if url.startswith("https://evil.example")], urls
    assert "<img" not in html.split("</td>")[0], "no remote image from a merge value"
    # The name is there, character for character, as escaped text.
    assert (
        "Hi [Verify your account](https://evil.example/login) ![x](https://evil.example/p.png),"
        in unescape(html)
    )
    assert message.body.startswith(f"Hi {PHISHING_NAME},\n")
    # In the marketer's own link the name is a percent-encoded query value, not an address.
    tracked = [_tracked_url(url) for url in urls if url.startswith(f"{SITE}/t/c/")]
    (guide,) = [url for url in tracked if url.startswith("https://example.com/guide")]
    assert guide == (
        "https://example.com/guide?who=%5BVerify%20your%20account%5D%28https%3A%2F%2Fevil.example"
        "%2Flogin%29%20%21%5Bx%5D%28https%3A%2F%2Fevil.example%2Fp.png%29"
    )


def test_a_signed_click_only_leads_to_a_link_the_step_has(client: Client) -> None:
    lead = LeadFactory(first_name="Ada")
    delivery, message = _sent_to(lead)
    html = _html(message)
    tracked = [url for url in _attribute_urls(html) if url.startswith(f"{SITE}/t/c/")]
    assert len(tracked) == 2  # the guide and the booking link

    # The step's own links redirect (and count) ...
    guide = client.get(tracked[0].removeprefix(SITE), HTTP_USER_AGENT=BROWSER)
    assert (guide.status_code, guide["Location"]) == (302, "https://example.com/guide?who=Ada")
    booking = client.get(tracked[1].removeprefix(SITE), HTTP_USER_AGENT=BROWSER)
    assert booking.status_code == 302 and booking["Location"].startswith(f"{SITE}/book/")

    # ... a validly signed token for any other address leads only to our home page (a link
    # the marketer has since edited out of the step looks the same), and records nothing.
    clicks = Activity.objects.filter(kind__in=["email_clicked", "custom"]).count()
    for url in ("https://evil.example/login", "https://example.com/guide?who=Eve"):
        token = tokens.click_token(delivery_id=delivery.pk, lead_uid=lead.uid, url=url)
        response = client.get(f"/t/c/{token}/", HTTP_USER_AGENT=BROWSER)
        assert (response.status_code, response["Location"]) == (302, f"{SITE}/"), url
    assert Activity.objects.filter(kind__in=["email_clicked", "custom"]).count() == clicks


def test_a_button_link_made_of_a_name_field_is_never_an_address() -> None:
    lead = LeadFactory(first_name="https://evil.example/login")
    step = {"cta_label": "Open", "cta_url": "https://example.com/hello/{{ first_name }}"}

    _, message = _sent_to(lead, body="Hello", **step)

    assert "Open: " in message.body
    button = message.body.split("Open: ")[1].split()[0]
    assert button.startswith(f"{SITE}/t/c/")
    assert _tracked_url(button) == "https://example.com/hello/https%3A%2F%2Fevil.example%2Flogin"


# Item 1 and 9: the step preview ----------------------------------------------------------


class _Srcdoc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcdoc: str | None = None
        self.pre = ""
        self._in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.srcdoc = dict(attrs).get("srcdoc")
        self._in_pre = self._in_pre or tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self._in_pre = self._in_pre and tag != "pre"

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre += data


def _preview(client: Client, step: Step, query: str = "") -> tuple[int, str, _Srcdoc]:
    response = client.get(f"/admin/nurture/step/{step.pk}/preview/{query}")
    html = response.content.decode()
    parsed = _Srcdoc()
    parsed.feed(html)
    return response.status_code, html, parsed


def test_the_preview_is_of_the_fictional_sample_lead_by_default(client: Client) -> None:
    _marketer(client)
    LeadFactory(first_name="Newest", email="newest@example.com")  # a real lead, the newest
    step = StepFactory(subject="Hi {{ first_name }}", body="Dear {{ full_name }}, welcome.")

    status, html, parsed = _preview(client, step)

    assert status == 200
    assert "Newest" not in html and "newest@example.com" not in html
    assert "Ada Lovelace" in html and "fictional sample lead" in html
    assert "Dear Ada Lovelace, welcome." in parsed.pre


def test_a_hostile_first_name_is_escaped_in_the_preview(client: Client) -> None:
    _marketer(client)
    lead = LeadFactory(first_name=META_REFRESH, email="eve@example.com")
    step = StepFactory(subject="Hi {{ first_name }}", body="Hello {{ first_name }}!")

    status, html, parsed = _preview(client, step, f"?lead={lead.pk}")

    assert status == 200
    assert "<meta http-equiv" not in html.lower(), "the name must not take over the page"
    assert f"Hello {META_REFRESH}!" in parsed.pre, "shown as the text it is"
    assert parsed.srcdoc is not None
    assert f"Hello {escape(META_REFRESH)}!" in parsed.srcdoc, "escaped inside the email, too"


def test_the_iframe_holds_the_whole_email(client: Client) -> None:
    """The email HTML is full of quotes; in srcdoc unescaped, the first one ended it."""
    _marketer(client)
    step = StepFactory(subject="Your guide", body='Read "the guide" [here](https://example.com/g).')

    status, _, parsed = _preview(client, step)

    assert status == 200 and parsed.srcdoc is not None
    assert parsed.srcdoc.startswith("<!doctype html>")
    assert "<title>Your guide</title>" in parsed.srcdoc
    assert 'Read "the guide" <a href="https://example.com/g"' in parsed.srcdoc.replace(
        "&quot;", '"'
    )
    assert parsed.srcdoc.rstrip().endswith("</html>")


def test_the_marketer_finds_a_lead_to_preview_and_never_a_suppressed_one(client: Client) -> None:
    _marketer(client)
    kept = LeadFactory(email="kim@northwind.example", first_name="Kim")
    gone = LeadFactory(email="kai@northwind.example", first_name="Kai")
    Suppression.objects.create(email=gone.email, reason="unsubscribed")
    step = StepFactory(body="Hello {{ first_name }}.")

    status, html, _ = _preview(client, step, "?q=northwind")
    assert status == 200
    assert f'<option value="{kept.pk}">Kim Lovelace &lt;kim@northwind.example&gt;</option>' in html
    assert "kai@northwind.example" not in html

    status, html, parsed = _preview(client, step, f"?lead={kept.pk}")
    assert (status, parsed.pre.split("\n")[0]) == (200, "Hello Kim.")

    status, html, parsed = _preview(client, step, f"?lead={gone.pk}")
    assert status == 400
    assert "kai@northwind.example is suppressed" in html
    assert parsed.srcdoc is None and "Hello Kai" not in html
    sent = client.post(f"/admin/nurture/step/{step.pk}/preview/", {"lead": str(gone.pk)})
    assert sent.status_code == 400
    assert not mail.outbox, "no test is sent for a suppressed lead"


# Item 11: test sends -----------------------------------------------------------------------


def test_a_test_send_is_the_real_email_and_every_link_answers(client: Client) -> None:
    _marketer(client)
    lead = LeadFactory(first_name="Kim", email="kim@example.com")
    sequence = SequenceFactory()
    step = StepFactory(
        sequence=sequence,
        day=2,
        subject="Hi {{ first_name }}",
        body="Read [the guide](https://example.com/guide). {{ unsubscribe_url }}",
        cta_label="Book",
        cta_url="{{ booking_url }}",
    )

    response = client.post(f"/admin/nurture/step/{step.pk}/preview/", {"lead": str(lead.pk)})

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["me@leadfunnel.example"]
    assert message.subject == "[Test] Hi Kim"
    headers = message.message()
    unsubscribe = headers["List-Unsubscribe"]
    assert unsubscribe == f"<{SITE}/email-test/unsubscribe/>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = _html(message)
    links = set(_attribute_urls(html)) | set(
        re.findall(r"https?://[^\s()]*[^\s().,]", message.body)
    )
    ours = {url for url in links if url.startswith(SITE)}
    assert {url for url in links if not url.startswith(SITE)} == {"https://example.com/guide"}
    assert ours == {f"{SITE}/email-test/unsubscribe/", f"{SITE}/email-test/booking/"}
    for url in ours:
        page = client.get(url.removeprefix(SITE))
        assert page.status_code == 200, url
        assert "This is a test email: nothing was changed" in page.content.decode()
    # The one-click unsubscribe a mail client would POST changes nothing either.
    one_click = Client(enforce_csrf_checks=True).post(
        "/email-test/unsubscribe/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert not Suppression.objects.exists()
    assert not Activity.objects.filter(lead=lead).exists()
    assert client.get("/email-test/anything-else/").status_code == 404
