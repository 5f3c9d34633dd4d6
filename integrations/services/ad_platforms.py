"""The two ad platforms' audience APIs, as small clients over the one outbound HTTP client.

Written by hand on purpose: the official SDKs (facebook-business; google-ads, which brings
gRPC and protobuf) are large dependencies for the four calls a sync makes, and both platforms
document these JSON-over-HTTPS endpoints. The base URLs are settings, so tests (and a staging
setup) point them at local fakes. Nobody types these URLs, yet they go through the same
SSRF-guarded, address-pinned client as webhooks (leadfunnel.outbound.http): one way out of
the server, and a fake on a private address needs WEBHOOKS_ALLOW_PRIVATE_NETWORKS as any.

Identifiers are normalised and SHA-256 hashed here, the way each platform asks:
- Meta: email trimmed and lower-cased; phone as digits with the country code, no "+".
- Google: email trimmed and lower-cased, and for gmail.com / googlemail.com without the dots
  of the local part; phone in E.164 with its "+".
"""

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from django.conf import settings

from leadfunnel.outbound import http

TIMEOUT = 30
# The platforms' answers are small JSON documents, but a partial failure lists every bad row.
RESPONSE_BYTES = 4 * 1024 * 1024
_E164 = re.compile(r"\+[1-9]\d{6,14}")


class AdPlatformError(Exception):
    """The platform refused a call or could not be reached; the message says which."""


class NotConfigured(AdPlatformError):
    pass


@dataclass(frozen=True)
class Hashes:
    email: str
    phone: str = ""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def meta_hashes(*, email: str, phone: str) -> Hashes:
    phone = phone.strip()
    return Hashes(
        email=sha256(email.strip().lower()),
        phone=sha256(phone[1:]) if _E164.fullmatch(phone) else "",
    )


def google_hashes(*, email: str, phone: str) -> Hashes:
    address = email.strip().lower()
    local, _, domain = address.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        address = f"{local.replace('.', '')}@{domain}"
    phone = phone.strip()
    return Hashes(email=sha256(address), phone=sha256(phone) if _E164.fullmatch(phone) else "")


class AudienceClient(Protocol):
    def hashes(self, *, email: str, phone: str) -> Hashes: ...
    def create_audience(self, *, name: str, description: str) -> str: ...
    def begin(self, *, audience_id: str, consented: bool) -> None: ...
    def add(self, rows: Sequence[Hashes]) -> None: ...
    def remove(self, rows: Sequence[Hashes]) -> None: ...
    def finish(self) -> None: ...


def _check(outcome: http.Outcome, *, doing: str) -> dict[str, Any]:
    if outcome.status_code is None:  # refused by the guard, unreachable or timed out
        raise AdPlatformError(f"{doing}: {outcome.error}")
    try:
        body = json.loads(outcome.response)
    except ValueError:
        body = {}
    if not outcome.ok:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else outcome.response[:200]
        raise AdPlatformError(f"{doing}: HTTP {outcome.status_code}: {message}")
    return body if isinstance(body, dict) else {}


def _call(
    method: str,
    url: str,
    *,
    doing: str,
    data: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One API call, form-encoded (`data`, Meta and OAuth) or JSON (`json_body`, Google)."""
    if json_body is not None:
        body, content_type = json.dumps(json_body).encode(), "application/json"
    else:
        body, content_type = urlencode(data or {}).encode(), "application/x-www-form-urlencoded"
    outcome = http.request(
        method=method,
        url=url,
        body=body,
        headers={**(headers or {}), "Content-Type": content_type, "Accept": "application/json"},
        timeout=TIMEOUT,
        response_bytes=RESPONSE_BYTES,
    )
    return _check(outcome, doing=doing)


class MetaAudiences:
    """Meta Marketing API: Custom Audiences from a customer list (10,000 rows per call)."""

    batch = 10_000

    def __init__(self) -> None:
        self.api = settings.ADS_META_API_URL.rstrip("/")
        self.token = settings.ADS_META_ACCESS_TOKEN
        self.account = settings.ADS_META_AD_ACCOUNT_ID.removeprefix("act_")
        if not (self.token and self.account):
            raise NotConfigured("Meta: set ADS_META_ACCESS_TOKEN and ADS_META_AD_ACCOUNT_ID.")
        self.audience_id = ""

    def hashes(self, *, email: str, phone: str) -> Hashes:
        return meta_hashes(email=email, phone=phone)

    def create_audience(self, *, name: str, description: str) -> str:
        body = _call(
            "POST",
            f"{self.api}/act_{self.account}/customaudiences",
            doing="Meta: create the audience",
            data={
                "name": name,
                "description": description,
                "subtype": "CUSTOM",
                "customer_file_source": "USER_PROVIDED_ONLY",
                "access_token": self.token,
            },
        )
        if not body.get("id"):
            raise AdPlatformError("Meta: create the audience: no id in the answer")
        return str(body["id"])

    def begin(self, *, audience_id: str, consented: bool) -> None:
        self.audience_id = audience_id

    def _users(self, method: str, rows: Sequence[Hashes], doing: str) -> None:
        payload = {"schema": ["EMAIL", "PHONE"], "data": [[row.email, row.phone] for row in rows]}
        _call(
            method,
            f"{self.api}/{self.audience_id}/users",
            doing=doing,
            data={"payload": json.dumps(payload), "access_token": self.token},
        )

    def add(self, rows: Sequence[Hashes]) -> None:
        self._users("POST", rows, "Meta: add people")

    def remove(self, rows: Sequence[Hashes]) -> None:
        self._users("DELETE", rows, "Meta: remove people")

    def finish(self) -> None:
        pass


class GoogleCustomerMatch:
    """Google Ads API (REST): a Customer Match user list, filled through one offline user
    data job per sync (create, add operations, run)."""

    batch = 10_000

    def __init__(self) -> None:
        self.api = settings.ADS_GOOGLE_API_URL.rstrip("/")
        self.customer = settings.ADS_GOOGLE_CUSTOMER_ID.replace("-", "")
        needed = (
            "ADS_GOOGLE_DEVELOPER_TOKEN",
            "ADS_GOOGLE_CUSTOMER_ID",
            "ADS_GOOGLE_CLIENT_ID",
            "ADS_GOOGLE_CLIENT_SECRET",
            "ADS_GOOGLE_REFRESH_TOKEN",
        )
        missing = [name for name in needed if not getattr(settings, name)]
        if missing:
            raise NotConfigured("Google Ads: set " + ", ".join(missing) + ".")
        self.job = ""
        self._headers: dict[str, str] = {}

    def hashes(self, *, email: str, phone: str) -> Hashes:
        return google_hashes(email=email, phone=phone)

    def _auth(self) -> dict[str, str]:
        if not self._headers:
            body = _call(
                "POST",
                settings.ADS_GOOGLE_TOKEN_URL,
                doing="Google: sign in",
                data={
                    "grant_type": "refresh_token",
                    "client_id": settings.ADS_GOOGLE_CLIENT_ID,
                    "client_secret": settings.ADS_GOOGLE_CLIENT_SECRET,
                    "refresh_token": settings.ADS_GOOGLE_REFRESH_TOKEN,
                },
            )
            if not body.get("access_token"):
                raise AdPlatformError("Google: sign in: no access token in the answer")
            self._headers = {
                "Authorization": f"Bearer {body['access_token']}",
                "developer-token": settings.ADS_GOOGLE_DEVELOPER_TOKEN,
            }
            if settings.ADS_GOOGLE_LOGIN_CUSTOMER_ID:
                self._headers["login-customer-id"] = settings.ADS_GOOGLE_LOGIN_CUSTOMER_ID.replace(
                    "-", ""
                )
        return self._headers

    def _post(self, path: str, body: dict[str, Any], doing: str) -> dict[str, Any]:
        return _call(
            "POST", f"{self.api}/{path}", doing=doing, json_body=body, headers=self._auth()
        )

    def create_audience(self, *, name: str, description: str) -> str:
        body = self._post(
            f"customers/{self.customer}/userLists:mutate",
            {
                "operations": [
                    {
                        "create": {
                            "name": name,
                            "description": description,
                            "membershipLifeSpan": 10000,
                            "crmBasedUserList": {
                                "uploadKeyType": "CONTACT_INFO",
                                "dataSourceType": "FIRST_PARTY",
                            },
                        }
                    }
                ]
            },
            "Google: create the user list",
        )
        try:
            return str(body["results"][0]["resourceName"]).rsplit("/", 1)[-1]
        except (KeyError, IndexError, TypeError):
            raise AdPlatformError("Google: create the user list: no resource name") from None

    def begin(self, *, audience_id: str, consented: bool) -> None:
        metadata: dict[str, Any] = {
            "userList": f"customers/{self.customer}/userLists/{audience_id}"
        }
        if consented:
            # EU user consent: these people agreed to marketing on a form.
            metadata["consent"] = {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}
        body = self._post(
            f"customers/{self.customer}/offlineUserDataJobs:create",
            {
                "job": {
                    "type": "CUSTOMER_MATCH_USER_LIST",
                    "customerMatchUserListMetadata": metadata,
                }
            },
            "Google: create the upload job",
        )
        self.job = str(body.get("resourceName", ""))
        if not self.job:
            raise AdPlatformError("Google: create the upload job: no resource name")

    @staticmethod
    def _identifiers(row: Hashes) -> dict[str, Any]:
        found = [{"hashedEmail": row.email}]
        if row.phone:
            found.append({"hashedPhoneNumber": row.phone})
        return {"userIdentifiers": found}

    def _operations(self, verb: str, rows: Sequence[Hashes], doing: str) -> None:
        self._post(
            f"{self.job}:addOperations",
            {
                "enablePartialFailure": True,
                "operations": [{verb: self._identifiers(row)} for row in rows],
            },
            doing,
        )

    def add(self, rows: Sequence[Hashes]) -> None:
        self._operations("create", rows, "Google: add people")

    def remove(self, rows: Sequence[Hashes]) -> None:
        self._operations("remove", rows, "Google: remove people")

    def finish(self) -> None:
        self._post(f"{self.job}:run", {}, "Google: run the upload job")


def client_for(platform: str) -> AudienceClient:
    return MetaAudiences() if platform == "meta" else GoogleCustomerMatch()
