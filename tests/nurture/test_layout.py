"""The email layout (issue 14): MJML compiled in Python once per process, a button Outlook
renders, a footer with the postal address and one-click unsubscribe, a palette that survives
dark mode, and marketer or lead text that never reaches the MJML source."""

import re
from email import message_from_bytes, policy
from html import unescape
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives

from nurture.demo import seed_default_sequence
from nurture.models import Enrollment
from nurture.services import composing
from nurture.services.scheduling import enroll_lead
from tests.factories import LandingPageFactory, LeadFactory, SequenceFactory, StepFactory

pytestmark = pytest.mark.django_db
SITE = "http://localhost:8000"
POSTAL_ADDRESS = "Acme Ltd · 1 High Street · London EC1A 1AA"
# A bulletproof button: the link inside a cell that Outlook paints (bgcolor), not a styled <a>.
BUTTON = re.compile(r'<td[^>]*bgcolor="([^"]+)"[^>]*>\s*<a href="([^"]+)"[^>]*>([^<]+)</a>')


def _messages(**lead: Any) -> dict[int, EmailMultiAlternatives]:
    """The demo day list's emails for one lead, by day (built, not sent)."""
    sequence = seed_default_sequence(page=LandingPageFactory())
    enrollment = enroll_lead(lead=LeadFactory(**lead), sequence=sequence)
    assert isinstance(enrollment, Enrollment)
    return {
        delivery.step.day: composing.build_message(delivery=delivery)
        for delivery in enrollment.deliveries.select_related("step")
    }


def _html(message: EmailMultiAlternatives) -> str:
    return str(message.alternatives[0][0])


def test_it_compiles_the_mjml_layout_once_for_every_email(monkeypatch: pytest.MonkeyPatch) -> None:
    composing._compiled_layout.cache_clear()
    compiled: list[str] = []

    def counting(source: str, **options: Any) -> str:
        compiled.append(source)
        return real(source, **options)

    real = composing.mjml2html
    monkeypatch.setattr(composing, "mjml2html", counting)

    messages = {**_messages(first_name="Ada"), **{-day: m for day, m in _messages().items()}}

    assert len(messages) == 10
    assert len(compiled) == 1, "compiled per email"
    assert "<mj-button" in compiled[0] and "{{ html_body }}" in compiled[0]
    for message in messages.values():
        # MJML's output: its responsive column and Outlook's conditional tables.
        html = _html(message)
        assert "mj-column-per-100" in html and "<!--[if mso | IE]>" in html
        assert "<mj-" not in html and "{{" not in html and "{%" not in html


def test_the_button_is_a_table_cell_outlook_paints_with_the_tracked_link() -> None:
    messages = _messages(first_name="Ada")
    day7 = _html(messages[7])

    cells = re.findall(
        r'<td[^>]*bgcolor="([^"]+)"[^>]*>\s*<a href="([^"]+)"[^>]*>([^<]+)</a>', day7
    )
    ((color, href, label),) = cells
    assert label.strip() == "Book my consultation"
    assert color == "#1d4ed8"
    assert unescape(href).startswith(f"{SITE}/t/c/")  # tracked, and the text part has it too
    assert f"Book my consultation: {unescape(href)}\n" in messages[7].body
    # Day 1 has no button: no painted cell with a link, no label.
    day1 = _html(messages[1])
    assert not BUTTON.findall(day1)
    assert "Book my consultation" not in day1


def test_the_footer_has_the_postal_address_and_the_one_click_unsubscribe(settings: Any) -> None:
    settings.NURTURE_POSTAL_ADDRESS = POSTAL_ADDRESS
    message = _messages()[2]
    html = _html(message)

    footer = html.split('class="lf-footer"', 1)[1]
    assert POSTAL_ADDRESS in unescape(footer)
    (unsubscribe,) = re.findall(
        r'<a href="([^"]+)"[^>]*>Unsubscribe or choose what you get</a>', footer
    )
    assert f"<{unescape(unsubscribe)}>" == message.extra_headers["List-Unsubscribe"]
    assert POSTAL_ADDRESS in message.body
    assert f"Unsubscribe or choose what you get: {unescape(unsubscribe)}" in message.body


def test_the_palette_is_dark_mode_friendly() -> None:
    html = _html(_messages()[7])

    assert '<meta name="color-scheme" content="light dark"' in html
    assert '<meta name="supported-color-schemes" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "[data-ogsc]" in html  # Outlook.com's dark mode
    # No pure white or pure black anywhere: dark modes invert or keep those blindly (white
    # text on a card turned black, black text left on a darkened background).
    colors = {color.lower() for color in re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", html)}
    assert colors.isdisjoint({"#ffffff", "#fff", "#000000", "#000"}), colors


def test_the_open_pixel_sits_below_the_footer_text_with_empty_alt_text() -> None:
    html = _html(_messages()[1])

    (pixel,) = re.findall(r"<img [^>]*>", html)
    assert f'src="{SITE}/t/o/' in pixel and 'alt=""' in pixel and 'width="1"' in pixel
    assert html.index(">Unsubscribe or choose what you get</a>") < html.index(pixel)


def test_the_preheader_is_the_first_text_and_hidden() -> None:
    html = _html(_messages()[2])

    body = html.split("<body", 1)[1]
    hidden = re.search(r'<div style="display:none;[^"]*">([^<]*)</div>', body)
    assert hidden is not None
    assert hidden.group(1).startswith("A ten-minute exercise that shows where leads go missing.")
    assert body.index(hidden.group(0)) < body.index("lf-card")


def test_lead_and_marketer_text_never_becomes_mjml_or_markup() -> None:
    name = '</mj-text><mj-button href="https://evil.example/">Win</mj-button>{% debug %}'
    sequence = SequenceFactory(weekdays=list(range(7)))
    StepFactory(
        sequence=sequence,
        day=1,
        subject="Hi {{ first_name }}",
        preheader="For {{ first_name }}",
        cta_label="Go",
        cta_url="https://acme.com/go",
        body='Hi {{ first_name }}\n\n<mj-section><mj-button href="https://evil.example/2">'
        "Click</mj-button></mj-section>",
    )
    enrollment = enroll_lead(lead=LeadFactory(first_name=name), sequence=sequence)
    assert isinstance(enrollment, Enrollment)
    html = _html(composing.build_message(delivery=enrollment.deliveries.get()))

    urls = [unescape(url) for url in re.findall(r'(?:href|src)="([^"]*)"', html)]
    assert not [url for url in urls if "evil.example" in url], urls
    assert "<mj-" not in html
    escaped = (
        "&lt;/mj-text&gt;&lt;mj-button href=&quot;https://evil.example/&quot;&gt;Win"
        "&lt;/mj-button&gt;{% debug %}"
    )
    # As text in the title, the preheader and the body; the template tag never ran.
    assert f"<title>Hi {escaped}</title>" in html
    assert f"For {escaped}" in html and f"Hi {escaped}" in html.split('class="lf-body"')[1]
    assert len(re.findall(r'<a href="[^"]*"', html)) == 2  # the button and unsubscribe


def test_its_lines_stay_short_enough_for_every_relay(settings: Any) -> None:
    """RFC 5322 allows 998 characters a line and RFC 2045 76 in quoted-printable; MJML
    writes its HTML as one line of kilobytes, and a long paragraph is one line too."""
    settings.NURTURE_POSTAL_ADDRESS = POSTAL_ADDRESS  # not ASCII: quoted-printable
    paragraph = "Hi {{ first_name }}, " + "a very long line " * 150
    sequence = SequenceFactory(weekdays=list(range(7)))
    StepFactory(sequence=sequence, day=1, body=paragraph)
    enrollment = enroll_lead(lead=LeadFactory(first_name="Ada"), sequence=sequence)
    assert isinstance(enrollment, Enrollment)
    long_one = composing.build_message(delivery=enrollment.deliveries.get())

    for message in [long_one, *_messages().values()]:
        raw = message.message(policy=policy.SMTP).as_bytes()
        parsed = message_from_bytes(raw, policy=policy.default)
        for part in parsed.walk():
            if part.get_content_maintype() == "text":
                assert part["Content-Transfer-Encoding"] == "quoted-printable"
                lines = part.get_payload().splitlines()
                assert max(len(line) for line in lines) <= 76, message.subject
        if message is long_one:
            html = parsed.get_body(preferencelist=("html",)).get_content()
            assert paragraph.replace("{{ first_name }}", "Ada").strip() in html
