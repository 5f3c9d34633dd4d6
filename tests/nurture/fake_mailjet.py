"""A local stand-in for Mailjet's Send API v3.1, for anymail's real Mailjet backend.

It checks what Mailjet would refuse (auth, at most 50 messages a call, one recipient a
message in a batch, every `{{var:…}}` given a value), answers each message with its own
MessageID, refuses the addresses it is told to (a partial failure: HTTP 400 with a status
per message, as Mailjet does), and renders each message as Mailjet's template language
would fill it, so a test can read exactly what each recipient gets. Told to, it takes a
call's messages and then holds the request open unanswered (`hold_from`): the ESP has them,
the sender never hears so, as when the sender is killed mid-call.
"""

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY, SECRET_KEY = "mj-public", "mj-secret"
MESSAGES_PER_CALL = 50
_VARIABLE = re.compile(r"{{var:([A-Za-z0-9_]+)}}")


@dataclass
class Rendered:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    event_payload: str
    message_id: str


@dataclass
class FakeMailjet:
    port: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    rendered: list[Rendered] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    fail_with: int = 0  # answer every call with this HTTP status (a 500, a 429)
    # Calls from this one on (1-based; 0: none) are taken, then held open until `release`.
    hold_from: int = 0
    holding: list[int] = field(default_factory=list)  # the indexes in `calls` held open
    release: threading.Event = field(default_factory=threading.Event)
    problems: list[str] = field(default_factory=list)
    _next_id: int = 288230376151711744

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3.1/"

    def recipients(self) -> list[str]:
        return [message.to for message in self.rendered]

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append(body)
        if self.fail_with:
            return self.fail_with, {"ErrorMessage": "try again later", "StatusCode": self.fail_with}
        globals_ = body.get("Globals", {})
        messages = body.get("Messages", [])
        if not 1 <= len(messages) <= MESSAGES_PER_CALL:
            self.problems.append(f"{len(messages)} messages in one call")
            return 400, {"ErrorCode": "send-0001", "ErrorMessage": "too many messages"}
        results, partial = [], False
        for message in messages:
            [to] = message["To"]
            email = to["Email"]
            if email in self.refuse:
                partial = True
                results.append(
                    {
                        "Status": "error",
                        "Errors": [
                            {
                                "ErrorCode": "mj-0013",
                                "StatusCode": 400,
                                "ErrorMessage": f'"{email}" is an invalid email address.',
                                "ErrorRelatedTo": ["To[0].Email"],
                            }
                        ],
                    }
                )
                continue
            self._next_id += 1
            variables = {**globals_.get("Variables", {}), **message.get("Variables", {})}
            self.rendered.append(
                Rendered(
                    to=email,
                    subject=self._fill(globals_.get("Subject", ""), variables, globals_),
                    text=self._fill(globals_.get("TextPart", ""), variables, globals_),
                    html=self._fill(globals_.get("HTMLPart", ""), variables, globals_),
                    headers={**globals_.get("Headers", {}), **message.get("Headers", {})},
                    event_payload=message.get("EventPayload", globals_.get("EventPayload", "")),
                    message_id=str(self._next_id),
                )
            )
            results.append(
                {
                    "Status": "success",
                    "CustomID": "",
                    "To": [
                        {
                            "Email": email,
                            "MessageUUID": f"uuid-{self._next_id}",
                            "MessageID": self._next_id,
                            "MessageHref": f"https://api.mailjet.com/v3/REST/message/{self._next_id}",
                        }
                    ],
                    "Cc": [],
                    "Bcc": [],
                }
            )
        return (400 if partial else 200), {"Messages": results}

    def _fill(self, template: str, variables: dict[str, Any], globals_: dict[str, Any]) -> str:
        if not globals_.get("TemplateLanguage"):
            return template

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                self.problems.append(f"no value for {{{{var:{name}}}}}")
                return ""
            return str(variables[name])

        return _VARIABLE.sub(value, template)


@contextmanager
def fake_mailjet() -> Iterator[FakeMailjet]:
    fake = FakeMailjet()
    expected = "Basic " + base64.b64encode(f"{API_KEY}:{SECRET_KEY}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v3.1/send" or self.headers.get("Authorization") != expected:
                self._reply(401, {"ErrorMessage": "API key authentication/authorization failure"})
                return
            length = int(self.headers.get("Content-Length", 0))
            call = json.loads(self.rfile.read(length))
            status, body = fake.answer(call)
            index = next(i for i, made in enumerate(fake.calls) if made is call)
            if fake.hold_from and index + 1 >= fake.hold_from and not fake.release.is_set():
                fake.holding.append(index)
                fake.release.wait()
            self._reply(status, body)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
