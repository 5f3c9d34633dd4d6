"""A fake of Twilio's Messages API for tests: a real HTTP server on 127.0.0.1 in a thread.

It answers POST /2010-04-01/Accounts/<sid>/Messages.json the way Twilio does (201 and the
message's JSON, or an error JSON with Twilio's code), checks HTTP Basic auth with the
account SID and token, and records each request, so tests drive the real `twilio` client.
"""

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")


@dataclass
class SentRequest:
    path: str
    account_sid: str
    authorised: bool
    form: dict[str, str]


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    received: list[SentRequest] = field(default_factory=list)
    # Twilio error codes to answer the next requests with (400 and Twilio's error JSON).
    errors: list[int] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                match = _MESSAGES.match(self.path)
                if match is None:
                    return self._answer(404, {"code": 20404, "message": "Not found"})
                expected = base64.b64encode(
                    f"{fake.account_sid}:{fake.auth_token}".encode()
                ).decode()
                authorised = self.headers.get("Authorization") == f"Basic {expected}"
                form = {name: values[0] for name, values in parse_qs(body).items()}
                fake.received.append(SentRequest(self.path, match["sid"], authorised, form))
                if not authorised:
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                if fake.errors:
                    code = fake.errors.pop(0)
                    return self._answer(
                        400, {"code": code, "message": f"Error {code}", "status": 400}
                    )
                sid = f"SM{next(fake._ids):032x}"
                return self._answer(
                    201,
                    {
                        "sid": sid,
                        "account_sid": match["sid"],
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "body": form.get("Body"),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "date_created": "Tue, 01 Dec 2026 10:00:00 +0000",
                        "uri": f"/2010-04-01/Accounts/{match['sid']}/Messages/{sid}.json",
                    },
                )

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"
