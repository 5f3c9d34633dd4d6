"""Local fakes of Meta's Marketing API and the Google Ads API (REST), enough for audience
syncs: they check each request's shape, token and hashing as the real services would, keep
the audience's members, and can be told to fail."""

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HEX64 = re.compile(r"[0-9a-f]{64}")
META_TOKEN = "meta-test-token"
GOOGLE_ACCESS = "ya29.test-access"


@dataclass
class FakeState:
    audiences: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # shape problems the fake saw
    fail_next: int = 0  # answer this many calls with a 500
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    state: FakeState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _problem(self, text: str) -> None:
        self.state.errors.append(text)
        self._answer(400, {"error": {"message": text}})

    def _failing(self) -> bool:
        if self.state.fail_next:
            self.state.fail_next -= 1
            self._answer(500, {"error": {"message": "Service temporarily unavailable"}})
            return True
        return False


class MetaHandler(_Handler):
    """POST /act_<id>/customaudiences, POST and DELETE /<audience>/users (form-encoded)."""

    def _form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self._body().decode()).items()}

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path
        form = self._form()
        self.state.calls.append((method, path, form))
        if self._failing():
            return
        if form.get("access_token") != META_TOKEN:
            self._answer(401, {"error": {"message": "Invalid OAuth access token.", "code": 190}})
            return
        created = re.fullmatch(r"/v25\.0/act_(\d+)/customaudiences", path)
        if created and method == "POST":
            if form.get("subtype") != "CUSTOM" or not form.get("name"):
                return self._problem("customaudiences: subtype CUSTOM and a name are required")
            if form.get("customer_file_source") != "USER_PROVIDED_ONLY":
                return self._problem("customaudiences: customer_file_source is required")
            audience = str(23850000000000000 + len(self.state.audiences) + 1)
            self.state.audiences[audience] = set()
            return self._answer(200, {"id": audience})
        users = re.fullmatch(r"/v25\.0/(\d+)/users", path)
        if not users or users.group(1) not in self.state.audiences:
            return self._answer(404, {"error": {"message": "Unknown path or audience"}})
        payload = json.loads(form.get("payload", "{}"))
        if payload.get("schema") != ["EMAIL", "PHONE"]:
            return self._problem("users: schema must be [EMAIL, PHONE]")
        rows = payload.get("data") or []
        if not 0 < len(rows) <= 10_000:
            return self._problem("users: 1 to 10,000 rows a call")
        for row in rows:
            if (
                len(row) != 2
                or not HEX64.fullmatch(row[0])
                or (row[1] and not HEX64.fullmatch(row[1]))
            ):
                return self._problem(f"users: rows must be SHA-256 hex: {row}")
        members = self.state.audiences[users.group(1)]
        for row in rows:
            (members.add if method == "POST" else members.discard)(tuple(row))
        self._answer(
            200,
            {"audience_id": users.group(1), "num_received": len(rows), "num_invalid_entries": 0},
        )


class GoogleHandler(_Handler):
    """OAuth token, userLists:mutate, offlineUserDataJobs:create, :addOperations and :run."""

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self._body()
        if path == "/token":
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            self.state.calls.append(("POST", path, form))
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "rt-1":
                return self._answer(400, {"error": "invalid_grant"})
            return self._answer(200, {"access_token": GOOGLE_ACCESS, "expires_in": 3599})
        body = json.loads(raw or b"{}")
        self.state.calls.append(("POST", path, body))
        if self._failing():
            return
        if self.headers.get("Authorization") != f"Bearer {GOOGLE_ACCESS}":
            return self._answer(401, {"error": {"message": "Request is missing valid credentials"}})
        if self.headers.get("developer-token") != "dev-token":
            return self._answer(403, {"error": {"message": "The developer token is not valid"}})
        if self.headers.get("login-customer-id") != "1112223333":
            return self._problem("login-customer-id header: digits of the manager account")
        if m := re.fullmatch(r"/v22/customers/(\d+)/userLists:mutate", path):
            create = body["operations"][0]["create"]
            if create.get("crmBasedUserList", {}).get("uploadKeyType") != "CONTACT_INFO":
                return self._problem("userLists: a CONTACT_INFO CRM-based list")
            user_list = str(9000 + len(self.state.audiences) + 1)
            self.state.audiences[user_list] = set()
            name = f"customers/{m.group(1)}/userLists/{user_list}"
            return self._answer(200, {"results": [{"resourceName": name}]})
        if m := re.fullmatch(r"/v22/customers/(\d+)/offlineUserDataJobs:create", path):
            job = body.get("job", {})
            metadata = job.get("customerMatchUserListMetadata", {})
            listed = re.fullmatch(
                rf"customers/{m.group(1)}/userLists/(\d+)", metadata.get("userList", "")
            )
            if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or not listed:
                return self._problem("offlineUserDataJobs: a Customer Match job for a user list")
            resource = f"customers/{m.group(1)}/offlineUserDataJobs/{700 + len(self.state.jobs)}"
            self.state.jobs[resource] = {
                "list": listed.group(1),
                "ops": [],
                "ran": False,
                "consent": metadata.get("consent"),
            }
            return self._answer(200, {"resourceName": resource})
        if m := re.fullmatch(
            r"/v22/(customers/\d+/offlineUserDataJobs/\d+):(addOperations|run)", path
        ):
            job = self.state.jobs.get(m.group(1))
            if job is None or job["ran"]:
                return self._problem("unknown job, or one already run")
            if m.group(2) == "run":
                job["ran"] = True
                members = self.state.audiences[job["list"]]
                for verb, key in job["ops"]:
                    (members.add if verb == "create" else members.discard)(key)
                return self._answer(200, {"name": f"operations/{m.group(1)}"})
            for operation in body.get("operations", []):
                ((verb, value),) = operation.items()
                ids = value.get("userIdentifiers", [])
                email = [i["hashedEmail"] for i in ids if "hashedEmail" in i]
                phone = [i["hashedPhoneNumber"] for i in ids if "hashedPhoneNumber" in i]
                if (
                    verb not in ("create", "remove")
                    or len(email) != 1
                    or not HEX64.fullmatch(email[0])
                ):
                    return self._problem(f"addOperations: a hashed email each: {operation}")
                if phone and not HEX64.fullmatch(phone[0]):
                    return self._problem("addOperations: hashed phone numbers")
                job["ops"].append((verb, (email[0], phone[0] if phone else "")))
            return self._answer(200, {})
        self._answer(404, {"error": {"message": f"Unknown path {path}"}})


@contextmanager
def serve(handler: type[_Handler]) -> Iterator[tuple[str, FakeState]]:
    state = FakeState()
    bound = type("Bound", (handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()
        server.server_close()
