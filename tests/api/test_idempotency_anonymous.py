"""Idempotency-Key on the public capture endpoint: each anonymous client (told apart by the
address the capture rate limit counts) has its own key space, so two prospects whose sites
both send "order-1001" are both captured."""

import json
from typing import Any

import pytest
from django.test import Client

from api.models import IdempotencyKey
from capture.models import LandingPage, Lead
from tests.capture.ingest.support import api_capture_data

pytestmark = pytest.mark.django_db
KEY = "order-1001"


def _post(client: Client, page: LandingPage, *, email: str, address: str) -> Any:
    return client.generic(
        "POST",
        f"/api/v1/capture/{page.slug}/",
        json.dumps(api_capture_data(email=email)),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
        REMOTE_ADDR=address,
    )


def test_two_anonymous_clients_with_one_key_are_both_captured(
    client: Client, page: LandingPage
) -> None:
    first = _post(client, page, email="a@example.com", address="198.51.100.7")
    second = _post(client, page, email="b@example.com", address="203.0.113.9")

    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert "Idempotent-Replayed" not in second
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]
    callers = set(IdempotencyKey.objects.values_list("caller", flat=True))
    assert len(callers) == 2
    assert not any("198.51.100.7" in caller for caller in callers), "kept as a hash only"


def test_one_anonymous_client_still_gets_its_own_answer_replayed(
    client: Client, page: LandingPage
) -> None:
    first = _post(client, page, email="a@example.com", address="198.51.100.7")
    again = _post(client, page, email="a@example.com", address="198.51.100.7")
    other_body = _post(client, page, email="c@example.com", address="198.51.100.7")

    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Lead.objects.values_list("email", flat=True)) == ["a@example.com"]
