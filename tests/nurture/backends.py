"""An email backend standing in for an SMTP server that answers with an error code."""

import smtplib
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    def __init__(self, *, code: int = 451, refuse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.code, self.refuse = code, refuse

    def send_messages(self, email_messages: Any) -> int:
        if self.refuse:
            raise smtplib.SMTPRecipientsRefused({"x@example.com": (self.code, b"no such user")})
        raise smtplib.SMTPResponseException(self.code, b"try again later")
