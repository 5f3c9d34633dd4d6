"""Each token has its own request budget; over it, a JSON 429 with Retry-After."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from api.throttling import TokenRateThrottle
from tests.api.conftest import error, sales_rep, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates into the class attribute when it is defined: settings overrides
    # do not reach it, so the class's own table is patched.
    monkeypatch.setattr(
        TokenRateThrottle, "THROTTLE_RATES", {**TokenRateThrottle.THROTTLE_RATES, "user": "3/min"}
    )


def test_a_token_over_its_rate_gets_a_json_429(three_per_minute: Any) -> None:
    client = token_client(sales_rep())
    statuses = [client.get("/api/v1/leads/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get("/api/v1/leads/")
    assert response.status_code == 429
    assert error(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_each_token_has_its_own_budget(three_per_minute: Any, rep_api: APIClient) -> None:
    for _ in range(4):
        rep_api.get("/api/v1/leads/")
    assert rep_api.get("/api/v1/leads/").status_code == 429
    assert token_client(sales_rep()).get("/api/v1/leads/").status_code == 200


def test_the_default_rate_lets_a_normal_integration_through(rep_api: APIClient) -> None:
    assert [rep_api.get("/api/v1/metrics/").status_code for _ in range(5)] == [200] * 5
