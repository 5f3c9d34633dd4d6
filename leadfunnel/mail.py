"""What every outgoing email shares: its message class and the DKIM-signing SMTP backend.

`OutgoingEmail` gives each message a Message-ID in the sender's own domain (Django's default
names the machine, `socket.getfqdn()`, which no DMARC check aligns with) and sends 8-bit text
as quoted-printable: Django's SMTP backend never declares 8BITMIME, and a relay that
downgrades an 8-bit body to 7 bits on the way breaks its DKIM signature.

`DkimEmailBackend` is Django's SMTP backend signing the final bytes of each message with
dkimpy. Settings configure it when EMAIL_URL is smtp and DKIM_PRIVATE_KEY, DKIM_SELECTOR and
DKIM_DOMAIN are set; ESPs (django-anymail) sign for their customers themselves.
"""

import email.policy
import smtplib
from email.charset import QP, Charset
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid, parseaddr
from typing import Any

import dkim
from django.core.mail import EmailMultiAlternatives, InvalidMailer
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.encoding import punycode

# Quoted-printable at RFC 2045's 76 columns, whatever line length a message's policy allows
# its headers (NurtureMessage keeps long List-Unsubscribe lines whole).
_UTF8_QUOTED_PRINTABLE = Charset("utf-8")
_UTF8_QUOTED_PRINTABLE.body_encoding = QP

# Signed on top of dkimpy's RFC 6376 list: RFC 8058 requires List-Unsubscribe-Post to be
# covered, and a Feedback-ID a relay could rewrite would send complaints elsewhere.
_ALSO_SIGNED = (b"list-unsubscribe-post", b"feedback-id")
# Signed twice ("oversigned") on top of dkimpy's: a relay cannot add a second, unsigned
# Subject or List-Unsubscribe that a mail client would show instead.
_OVERSIGNED = (b"subject", b"list-unsubscribe", b"list-unsubscribe-post")


def sender_domain(address: str) -> str:
    """The domain of `address` ("Acme <hello@acme.com>" → "acme.com"), ASCII (IDNA)."""
    domain = parseaddr(address)[1].rpartition("@")[2]
    return punycode(domain) if domain else "localhost"


class OutgoingEmail(EmailMultiAlternatives):
    """An email as the app sends it: Message-ID in the From domain, bodies 7-bit safe."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set now, not when the MIME message is built: the sender records it before
        # sending (Delivery.message_id) and every later build must carry the same one.
        if not any(name.lower() == "message-id" for name in self.extra_headers):
            self.extra_headers["Message-ID"] = make_msgid(domain=sender_domain(self.from_email))

    def message(self, *, policy: email.policy.Policy | None = email.policy.default) -> Any:
        message = super().message(policy=policy)
        for part in message.walk():
            is_text = part.get_content_maintype() == "text"
            # A line longer than the policy allows makes Python pick quoted-printable itself,
            # folded at that length (998 under NurtureMessage's policy): RFC 2045 says 76.
            if is_text and part["Content-Transfer-Encoding"] in ("8bit", "quoted-printable"):
                _to_quoted_printable(part)
        return message


def _to_quoted_printable(part: MimeMessage) -> None:
    text = part.get_content()
    part.set_param("charset", "utf-8")
    part.set_payload(_UTF8_QUOTED_PRINTABLE.body_encode(text))
    part.replace_header("Content-Transfer-Encoding", "quoted-printable")


class DkimEmailBackend(SmtpBackend):
    """Django's SMTP backend, adding a DKIM-Signature over each message's final bytes."""

    def __init__(
        self, *, dkim_private_key: str, dkim_selector: str, dkim_domain: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.dkim_private_key = dkim_private_key.encode()
        self.dkim_selector = dkim_selector.encode()
        self.dkim_domain = dkim_domain.encode()
        try:
            dkim.crypto.parse_pem_private_key(self.dkim_private_key)
        except dkim.crypto.UnparsableKeyError as error:
            # At the first send, not the thousandth: a bad key would fail every message.
            raise InvalidMailer(
                f"DKIM_PRIVATE_KEY is not an RSA private key in PEM form: {error}",
                alias=self.alias,  # type: ignore[attr-defined]  # Django 6.1's mailers; no stub yet
            ) from error

    def sign(self, raw: bytes) -> bytes:
        """`raw` with a DKIM-Signature header on top (relaxed/relaxed, rsa-sha256)."""
        signer = dkim.DKIM(raw)
        signer.should_sign.update(_ALSO_SIGNED)
        signer.add_frozen(_OVERSIGNED)
        signature = signer.sign(
            self.dkim_selector,
            self.dkim_domain,
            self.dkim_private_key,
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return bytes(signature) + raw

    def _send(self, email_message: Any) -> bool:
        # Django's own _send, signing the bytes it would hand to sendmail: nothing may
        # change them after this (re-encoding, another header) or the signature breaks.
        if not email_message.recipients():
            return False
        from_email = self.prep_address(email_message.from_email)
        recipients = [self.prep_address(address) for address in email_message.recipients()]
        raw = email_message.message(policy=email.policy.SMTP).as_bytes()
        try:
            if self.connection is None:
                raise smtplib.SMTPServerDisconnected("send_messages opens the connection first")
            self.connection.sendmail(from_email, recipients, self.sign(raw))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
