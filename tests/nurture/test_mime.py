"""The bytes the sender writes itself (nurture/services/mime.py) say what the email says:
every header and both parts read back as composed, the same headers as Python's email
package would write, lines short enough for every relay, and nothing a lead typed can add a
header or split an address."""

import email
from email import policy
from email.headerregistry import Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leadfunnel.mail import OutgoingEmail
from nurture.services import composing
from nurture.services.composing import ComposedEmail, EmailLinks, NurtureMessage
from nurture.services.mime import smtp_bytes

UNSUBSCRIBE = "https://leads.acme.com/u/eyJsIjoxODAxLCJrIjoiZDVhY2JjMjNmYjA5NDllZmJkMWIzZjY3ZDA4OTZjMWMiLCJkIjoxODAxfQ:1xYOSy:PLsyPOqEe3MfrJRlXPk78fAZvOXmtd7Xv1mW_gjtlJ4/"
HTML = '<!doctype html><html><body><p>Hi {name}, = a  line\t</p>\n<a href="https://x.example/?a=1&amp;b=2">go</a>\n.\n</body></html>'
# Names and subjects as leads and marketers type them: accents, quotes, commas, brackets,
# the characters RFC 5322 gives a meaning to, and some that look like header syntax.
TYPED = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
    | st.sampled_from(list("\"',.;:<>@()[]\\=?_-\r\n\t")),
    max_size=60,
)


def _message(
    *, name: str, subject: str, text: str, html: str, reply_to: list[str] | None = None
) -> NurtureMessage:
    composed = ComposedEmail(subject=" ".join(subject.split()), text=text, html=html)
    links = EmailLinks(unsubscribe_url=UNSUBSCRIBE, booking_url="https://leads.acme.com/book/x/")
    return composing._message(
        composed,
        to="bea@example.com",
        name=name,
        links=links,
        feedback_id="17:4:nurture:leadfunnel",
        reply_to=reply_to or [],
    )


def _ours(message: NurtureMessage) -> email.message.EmailMessage:
    raw = smtp_bytes(message)
    assert raw is not None
    return email.message_from_bytes(raw, policy=policy.default)


def _email_packages(message: NurtureMessage) -> email.message.EmailMessage:
    raw = OutgoingEmail.message(message, policy=policy.SMTP.clone(max_line_length=998))
    return email.message_from_bytes(raw.as_bytes(), policy=policy.default)


def _text(parsed: email.message.EmailMessage) -> str:
    return parsed.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _wire_lines(raw: bytes) -> list[bytes]:
    assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends in CRLF, no bare LF"
    return raw.split(b"\r\n")


def test_it_writes_what_the_email_package_writes(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Acme Leads <hello@leads.acme.com>"
    message = _message(
        name="Béa Lovelace",
        subject="Day 2 for Béa",
        text="Hi Béa,\nsee you.\n",
        html=HTML.format(name="Béa"),
        reply_to=["Sales Team <sales@acme.com>"],
    )
    ours, theirs = _ours(message), _email_packages(message)
    assert sorted(ours.keys()) == sorted(theirs.keys())
    for name in ours:
        if name.lower() not in ("content-type",):  # the boundary is random
            assert str(ours[name]) == str(theirs[name]), name
    assert ours["Message-ID"] == message.extra_headers["Message-ID"]
    assert ours["Message-ID"].endswith("@leads.acme.com>")
    assert ours["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert ours["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ours["Feedback-ID"] == "17:4:nurture:leadfunnel"
    assert ours["Reply-To"] == "Sales Team <sales@acme.com>"
    assert ours.get_content_type() == "multipart/alternative"
    for preference in ("plain", "html"):
        mine = ours.get_body(preferencelist=(preference,))
        assert mine["Content-Transfer-Encoding"] == "quoted-printable"
        assert mine.get_content_charset() == "utf-8"
        assert mine.get_content() == theirs.get_body(preferencelist=(preference,)).get_content()
    assert _text(ours) == "Hi Béa,\nsee you.\n"


def test_the_same_message_gives_the_same_bytes_every_time() -> None:
    # The sender records the Message-ID before sending; a DKIM check or a retry reads the
    # bytes again: boundary and Date must not change in between.
    message = _message(name="Bea", subject="Hi", text="Hi\n", html="<p>Hi</p>")
    assert smtp_bytes(message) == smtp_bytes(message)
    # What a backend that goes through message() sends (file, console, DKIM): those bytes.
    assert message.message(policy=policy.SMTP).as_bytes() == smtp_bytes(message)


def test_its_lines_fit_rfc_5322_and_its_bodies_rfc_2045() -> None:
    long_text = "Hi Bea, " + "a very long line with ünïcode " * 80 + "\n"
    message = _message(name="Bea", subject="Hi", text=long_text, html=f"<p>{long_text}</p>")
    raw = smtp_bytes(message)
    assert raw is not None
    head, _, body = raw.partition(b"\r\n\r\n")
    assert max(len(line) for line in _wire_lines(head)) <= 998
    assert any(line.startswith(b"List-Unsubscribe: <https://") for line in _wire_lines(head))
    assert max(len(line) for line in _wire_lines(body)) <= 76, [
        line for line in _wire_lines(body) if len(line) > 76
    ]
    assert all(byte < 128 for byte in raw), "7-bit on the wire: quoted-printable bodies"
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert _text(parsed) == long_text


def test_a_name_with_a_comma_and_an_accent_stays_one_address() -> None:
    # The email package refolds "Béa O'Brien, Jr." into an encoded word followed by a bare
    # comma: two addresses for a mail client. formataddr's one encoded word keeps it whole.
    parsed = _ours(_message(name="Béa O'Brien, Jr.", subject="Hi", text="x\n", html="<p>x</p>"))
    assert parsed["To"].addresses == (
        Address(display_name="Béa O'Brien, Jr.", addr_spec="bea@example.com"),
    )


@pytest.mark.parametrize("name", ["Bea\r\nBcc: victim@example.com", "Bea\nX-Evil: 1"])
def test_a_typed_line_break_never_starts_a_header(name: str) -> None:
    message = _message(name=name, subject=f"Hi {name}", text="x\n", html="<p>x</p>")
    parsed = _ours(message)
    assert "Bcc" not in parsed and "X-Evil" not in parsed
    assert parsed["To"].addresses[0].addr_spec == "bea@example.com"
    assert len(parsed["To"].addresses) == 1


def test_a_header_with_a_line_break_is_refused() -> None:
    message = _message(name="Bea", subject="Hi", text="x\n", html="<p>x</p>")
    message.extra_headers["Feedback-ID"] = "1:2:nurture\r\nBcc: victim@example.com"
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        smtp_bytes(message)


def test_a_message_of_another_shape_takes_the_email_packages_path() -> None:
    message = _message(name="Bea", subject="Hi", text="x\n", html="<p>x</p>")
    message.attach("notes.txt", "hello", "text/plain")
    assert smtp_bytes(message) is None
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["notes.txt"]


@hypothesis_settings(max_examples=150, deadline=None)
@given(name=TYPED, subject=TYPED, typed=TYPED)
def test_whatever_is_typed_reads_back_as_typed(name: str, subject: str, typed: str) -> None:
    text = f"Hi {typed}\n\n--\nUnsubscribe or choose what you get: {UNSUBSCRIBE}\n"  # as composed
    message = _message(name=name, subject=subject, text=text, html=f"<p>{text}</p>")
    raw = smtp_bytes(message)
    assert raw is not None
    parsed = email.message_from_bytes(raw, policy=policy.default)
    [address] = parsed["To"].addresses
    assert address.addr_spec == "bea@example.com"
    assert address.display_name == " ".join(name.split())
    if "=?" not in subject:  # a literal encoded word is decoded by any reader
        assert parsed["Subject"] == " ".join(subject.split())
    # Its lines as typed (CR, LF or CRLF ending each), every one ended by a newline.
    lines = [line.decode() for line in text.encode().splitlines()]
    assert _text(parsed) == "\n".join(lines) + "\n"
    head = raw.partition(b"\r\n\r\n")[0]
    assert max(len(line) for line in _wire_lines(head)) <= 998
    assert sorted(parsed.keys()) == sorted(_email_packages(message).keys())
