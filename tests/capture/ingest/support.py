"""Helpers shared by the capture API tests."""

import json
from typing import Any

from django.test import Client
from rest_framework.authtoken.models import Token

from capture.models import Activity, Lead, Submission


def api_capture_data(**overrides: Any) -> dict[str, Any]:
    """A valid JSON submission for tests.factories.LandingPageFactory's page."""
    data: dict[str, Any] = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines Ltd",
        "job_title": "Director of Engineering",
        "company_size": "50-249",
        "country": "GB",
        "answer": "Within a month",
        "consent": True,
        "utm_source": "partner-site",
        "utm_campaign": "spring",
        "time_zone": "Europe/London",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not ...}


def post_json(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.generic("POST", url, json.dumps(body), content_type="application/json", **extra)


def counts() -> tuple[int, int, int]:
    return Lead.objects.count(), Submission.objects.count(), Activity.objects.count()


def token_client(user: Any) -> Client:
    """A client that authenticates as an integration does: `Authorization: Token …`."""
    key = Token.objects.create(user=user).key
    return Client(headers={"Authorization": f"Token {key}"}, raise_request_exception=False)


def error_fields(response: Any) -> dict[str, list[str]]:
    return response.json()["error"].get("fields", {})
