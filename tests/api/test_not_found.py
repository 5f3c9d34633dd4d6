"""Every 404 under /api/ is the API's JSON error, also for URLs no pattern matches."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import marketer, token_client

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/null%2Cnull/",  # fails the <int:pk> converter
        "/api/v1/campaigns/-1/",
        "/api/v1/leads/1e3/owner/",
        "/api/v1/no-such-endpoint/",
        "/api/v2/campaigns/",
        "/api/",
    ],
)
def test_an_unrouted_api_url_answers_json(path: str) -> None:
    for client in (APIClient(), token_client(marketer())):
        response = client.get(path)

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == NOT_FOUND


def test_a_routed_api_404_has_the_same_shape() -> None:
    response = token_client(marketer()).get("/api/v1/campaigns/999999/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_404_outside_the_api_is_still_the_site_page() -> None:
    response = APIClient().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.api.crash_urls")
def test_a_crash_under_the_api_answers_json_and_elsewhere_the_site_page() -> None:
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/crash/")
    assert (response.status_code, response["Content-Type"]) == (500, "application/json")
    assert response.json()["error"]["code"] == "server_error"

    page = client.get("/crash/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
