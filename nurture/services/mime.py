"""A nurture email's bytes for SMTP, written directly instead of by Python's email package.

The email package parses every header it is given into a tree and folds it back out, and
re-encodes each body through its content manager and then ours (quoted-printable): about
2 ms of CPU an email, most of what a batch spent per message. Our messages have one shape
(multipart/alternative: a text part and an HTML part, no attachments, one recipient) and
headers we wrote ourselves, so their bytes are written here: a header value that is plain
ASCII goes out as it is; anything else (non-ASCII, over-long, or text that a mail client
would read as an RFC 2047 encoded word) is folded by the standard library's own policy, as
before. Both bodies are quoted-printable by `binascii` (C), at RFC 2045's 76 columns.
A message of any other shape returns None and takes the email package's path.

`tests/nurture/test_mime.py` holds what this writes equal, header by header and part by
part, to what the email package makes of the same message.
"""

import binascii
import email.policy
import random
import smtplib
import sys
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.timezone import get_current_timezone

# RFC 5322's 998, as NurtureMessage's policy: a long List-Unsubscribe URL stays one line.
MAX_LINE_LENGTH = 998  # RFC 5322
POLICY = email.policy.SMTP.clone(max_line_length=MAX_LINE_LENGTH)
_CRLF = b"\r\n"
_UTF8_QUOTED_PRINTABLE = Charset("utf-8")
_UTF8_QUOTED_PRINTABLE.body_encoding = QP
_PART_HEAD = (
    b'Content-Type: %s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
)
# Headers the message object holds apart from extra_headers (Django's order, and the ones
# Django would not take from extra_headers either).
_OWN_HEADERS = frozenset({"from", "to", "cc", "reply-to", "date", "bcc"})


def smtp_bytes(message: EmailMultiAlternatives) -> bytes | None:
    """The message as it goes on the wire (CRLF lines), or None for a shape not ours.

    The Date and the MIME boundary are fixed on the message the first time, so every later
    call (a retry, a DKIM check, a test reading it back) gives the same bytes.
    """
    if (
        message.attachments
        or message.cc
        or message.bcc
        or len(message.to) != 1
        or len(message.alternatives) != 1
        or message.alternatives[0][1] != "text/html"  # (content, mimetype)
        or any(name.lower() == "bcc" for name in message.extra_headers)
    ):
        return None
    to = _address_header("To", message.to[0])
    sender = _address_header("From", str(message.extra_headers.get("From", message.from_email)))
    if to is None or sender is None:
        return None
    head = [
        b"MIME-Version: 1.0\r\n",
        b'Content-Type: multipart/alternative; boundary="%s"\r\n' % _boundary(message),
        _header("Subject", str(message.subject)),
        sender,
        to,
    ]
    if message.reply_to:
        reply_to = _address_header("Reply-To", ", ".join(message.reply_to))
        if reply_to is None:
            return None
        head.append(reply_to)
    if not any(name.lower() == "date" for name in message.extra_headers):
        head.append(_header("Date", _date(message)))
    for name, value in message.extra_headers.items():
        if name.lower() not in _OWN_HEADERS:
            head.append(_header(name, str(value)))
    boundary = b"--" + _boundary(message)
    return b"".join(
        [
            *head,
            _CRLF,
            boundary,
            _CRLF,
            _PART_HEAD % b"text/plain",
            _quoted_printable(str(message.body)),
            # RFC 2046: the CRLF before a boundary belongs to the boundary, not the part.
            _CRLF,
            boundary,
            _CRLF,
            _PART_HEAD % b"text/html",
            _quoted_printable(str(message.alternatives[0][0])),
            _CRLF,
            boundary,
            b"--\r\n",
        ]
    )


def send_over_smtp(backend: SmtpBackend, message: EmailMultiAlternatives) -> None:
    """Send `message` over the backend's open connection (DKIM-signed when it signs).

    What Django's `_send` does, minus the email package: the same envelope, the same
    exceptions (an SMTP refusal raises; nothing here fails silently).
    """
    raw = smtp_bytes(message)
    if raw is None:
        backend.send_messages([message])
        return
    sign = getattr(backend, "sign", None)  # leadfunnel.mail.DkimEmailBackend
    if sign is not None:
        raw = sign(raw)
    recipients = [_envelope(backend, address) for address in message.recipients()]
    if backend.connection is None:
        raise smtplib.SMTPServerDisconnected("the batch opens the connection before sending")
    backend.connection.sendmail(_sender_envelope(backend, message.from_email), recipients, raw)


def _envelope(backend: SmtpBackend, address: str) -> str:
    addr_spec = parseaddr(address)[1]
    if addr_spec.isascii() and "@" in addr_spec and not any(c in addr_spec for c in " \r\n<>"):
        return addr_spec
    return backend.prep_address(address)  # IDNA domains, and Django's refusals


_SENDERS: dict[str, str] = {}


def _sender_envelope(backend: SmtpBackend, address: str) -> str:
    # The From address is the same for every message: Django's parse of it, once.
    if address not in _SENDERS:
        _SENDERS[address] = backend.prep_address(address)
    return _SENDERS[address]


def _boundary(message: Any) -> bytes:
    boundary = getattr(message, "_lf_boundary", None)
    if boundary is None:
        # The email package's form: "=" cannot occur in a quoted-printable body unencoded,
        # so this line can never appear inside a part.
        token = random.randrange(sys.maxsize)  # noqa: S311 - a separator, not a secret
        boundary = b"===============%019d==" % token
        message._lf_boundary = boundary
    return boundary


def _date(message: Any) -> str:
    date = getattr(message, "_lf_date", None)
    if date is None:
        zone = get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC
        date = format_datetime(datetime.now(zone))
        message._lf_date = date
    return date


def _plain(name: str, value: str) -> bool:
    """Written as it is: what the email package would write unchanged too."""
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and len(name) + 2 + len(value) <= MAX_LINE_LENGTH
    )


def _header(name: str, value: str) -> bytes:
    if _plain(name, value):
        return f"{name}: {value}\r\n".encode("ascii")
    # Encoded words, folding, and the refusal of a CR or LF (a header of its own).
    return _folded(name, value)


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    if "\r" in value or "\n" in value:
        # What the email package says when a header is set: a line break would start a
        # header of its own (Bcc: …) in the middle of ours.
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    return POLICY.fold_binary(name, value)


def _address_header(name: str, value: str) -> bytes | None:
    """An address header. A non-ASCII display name is encoded whole (formataddr's RFC 2047
    word): the email package's refolding would leave a comma of the name bare, splitting
    one address in two. None for a non-ASCII address itself (IDNA: the email package's
    path, with Django's domain encoding)."""
    if _plain(name, value):
        return f"{name}: {value}\r\n".encode("ascii")
    if "\r" in value or "\n" in value:
        return _folded(name, value)  # raises, as the email package does
    if "," in value and value.count("@") > 1:
        return None  # several addresses with non-ASCII names: not a shape of ours
    display_name, address = parseaddr(value)
    if not address.isascii() or "@" not in address:
        return None
    return _header(name, formataddr((display_name, address)))


def _quoted_printable(text: str) -> bytes:
    # Lines as the email package splits them (CR, LF or CRLF), each ended by CRLF on the
    # wire, the last one too.
    lines = text.encode("utf-8").splitlines()
    encoded = binascii.b2a_qp(b"\n".join(lines) + b"\n", quotetabs=False, istext=True)
    if max(map(len, encoded.split(b"\n"))) > 76:
        # binascii leaves a line one over when the space it encodes at the end (=20) is
        # what crosses column 76: then the email package's own encoder, for this body.
        encoded = _UTF8_QUOTED_PRINTABLE.body_encode(b"\n".join(lines).decode() + "\n").encode()
    return encoded.replace(b"\n", _CRLF)
