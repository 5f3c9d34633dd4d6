"""An SMTP sink in the bench process: who got a message, and when it arrived."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from .stack import free_port


class Sink:
    """aiosmtpd handler: the recipient and arrival time of every message, nothing more
    unless `keep` asks for the envelopes too (to replay them in a baseline)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.kept: list[tuple[str, list[str], bytes]] = []
        self.keep = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        for recipient in envelope.rcpt_tos:
            self.arrivals.append((now, recipient.lower()))
        if self.keep:
            self.kept.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def __len__(self) -> int:
        return len(self.arrivals)


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
