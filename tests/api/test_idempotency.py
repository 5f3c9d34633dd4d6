"""Idempotency-Key on the POSTs that create: leads and enrollments."""

import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.models import IdempotencyKey
from capture.models import Lead
from nurture.models import Enrollment
from tests.api.conftest import error, marketer, token_client
from tests.factories import LeadFactory, playbook_sequence

LEADS = "/api/v1/leads/"


def post(client: APIClient, body: dict[str, Any], key: str) -> Any:
    return client.post(LEADS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_the_same_key_twice_creates_one_lead_and_replays_the_answer(
        self, marketer_api: APIClient
    ) -> None:
        body = {"email": "grace@example.com", "first_name": "Grace"}
        first = post(marketer_api, body, "key-1")
        second = post(marketer_api, body, "key-1")
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert Lead.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_422(self, marketer_api: APIClient) -> None:
        post(marketer_api, {"email": "grace@example.com"}, "key-1")
        response = post(marketer_api, {"email": "ada@example.com"}, "key-1")
        assert response.status_code == 422
        assert error(response)["code"] == "idempotency_key_reused"
        assert Lead.objects.count() == 1

    def test_a_failed_first_attempt_leaves_the_key_free(self, marketer_api: APIClient) -> None:
        LeadFactory(email="taken@example.com")
        assert post(marketer_api, {"email": "not-an-email"}, "key-1").status_code == 400
        assert post(marketer_api, {"email": "taken@example.com"}, "key-1").status_code == 409
        assert not IdempotencyKey.objects.exists()
        retried = post(marketer_api, {"email": "grace@example.com"}, "key-1")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried

    def test_keys_belong_to_their_caller(self, marketer_api: APIClient) -> None:
        post(marketer_api, {"email": "grace@example.com"}, "shared")
        other = post(token_client(marketer()), {"email": "ada@example.com"}, "shared")
        assert other.status_code == 201
        assert Lead.objects.count() == 2

    def test_without_a_key_each_post_is_its_own(self, marketer_api: APIClient) -> None:
        marketer_api.post(LEADS, {"email": "grace@example.com"}, format="json")
        again = marketer_api.post(LEADS, {"email": "grace@example.com"}, format="json")
        assert again.status_code == 409

    def test_an_overlong_key_is_refused_naming_the_header(self, marketer_api: APIClient) -> None:
        response = post(marketer_api, {"email": "grace@example.com"}, "k" * 256)
        assert response.status_code == 400
        assert "Idempotency-Key" in error(response)["fields"]

    def test_enrolling_with_a_key_twice_replays(self, marketer_api: APIClient) -> None:
        lead, sequence = LeadFactory(), playbook_sequence()
        body = {"lead": lead.pk, "sequence": sequence.pk}
        first = marketer_api.post(
            "/api/v1/enrollments/", body, format="json", HTTP_IDEMPOTENCY_KEY="e-1"
        )
        second = marketer_api.post(
            "/api/v1/enrollments/", body, format="json", HTTP_IDEMPOTENCY_KEY="e-1"
        )
        assert (first.status_code, second.status_code) == (201, 201)
        assert second["Idempotent-Replayed"] == "true"
        assert Enrollment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_lead() -> None:
    """Two threads, two connections, one key: the second waits on the key's unique index
    until the first commits, then replays its answer."""
    client = token_client(marketer())
    body = {"email": "grace@example.com", "first_name": "Grace"}
    barrier = threading.Barrier(2)
    responses: list[Any] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            responses.append(post(client, body, "concurrent-key"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in responses) == [201, 201]
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 1
    assert responses[0].json() == responses[1].json()
    assert Lead.objects.filter(email="grace@example.com").count() == 1
