"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread.

It checks each request's signature the way an integrator would (the README's snippet, written
out here again rather than imported, so a bug in webhooks.signing cannot hide itself), records
what it got and answers with the statuses it was told.
"""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


def verify_signature(*, secret: str, header: str, body: bytes) -> bool:
    """What the README tells integrators to do (minus the timestamp's age, checked in tests)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        signed = parts["t"].encode() + b"." + body
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Receiver:
    secret: str = "receiver-secret-0123456789abcdef"
    # Answers for the next requests, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    answer: bytes = b"ok"
    headers_out: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # Set by a test that must hold the first answer back until it says so.
    release: threading.Event | None = None
    got_request: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                valid = verify_signature(
                    secret=receiver.secret,
                    header=headers.get("x-leadfunnel-signature", ""),
                    body=body,
                )
                receiver.received.append(Received(self.path, headers, body, valid))
                receiver.got_request.set()
                if receiver.release is not None:
                    receiver.release.wait(timeout=10)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    for name, value in receiver.headers_out.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        if self.release is not None:
            self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.headers["x-leadfunnel-event"] == event_type]
