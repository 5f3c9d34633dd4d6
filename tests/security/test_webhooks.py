"""ESP webhooks cannot be forged: without the shared secret they are not there at all."""

import base64
import json
from typing import Any

import pytest
from django.test import Client

from nurture.models import Suppression

pytestmark = pytest.mark.django_db

FORGED_BOUNCE = {
    "RecordType": "Bounce",
    "Type": "HardBounce",
    "TypeCode": 1,
    "MessageID": "x-1",
    "Email": "victim@example.com",
    "BouncedAt": "2026-03-02T09:01:00Z",
}


def _post(client: Client, **headers: str) -> Any:
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(FORGED_BOUNCE),
        content_type="application/json",
        headers=headers,
    )


def test_it_ignores_a_forged_bounce_when_no_secret_is_configured(
    client: Client, settings: Any
) -> None:
    settings.ANYMAIL = {}
    assert _post(client).status_code == 404
    assert not Suppression.objects.exists()


def test_it_refuses_a_forged_bounce_without_the_secret(client: Client, settings: Any) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    assert _post(client).status_code in (400, 401, 403)
    wrong = base64.b64encode(b"hook:guess").decode()
    assert _post(client, authorization=f"Basic {wrong}").status_code in (400, 401, 403)
    assert not Suppression.objects.exists()
