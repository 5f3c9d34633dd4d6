"""CORS per landing page: a page's listed sites may call its capture endpoint, nobody else."""

from typing import Any

import pytest
from django.test import Client

from capture.models import LandingPage
from tests.capture.ingest.support import api_capture_data, post_json
from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
A, B = "https://www.a-company.example", "https://shop.b-company.example"


@pytest.fixture
def page_a(db: None) -> LandingPage:
    return LandingPageFactory(embed_origins=f"{A}\nhttps://blog.a-company.example/")


@pytest.fixture
def page_b(db: None) -> LandingPage:
    return LandingPageFactory(embed_origins=B)


def _preflight(client: Client, url: str, origin: str) -> Any:
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key",
        },
    )


def test_a_listed_origin_may_post_to_its_page_and_its_preflight_passes(
    client: Client, page_a: LandingPage
) -> None:
    url = f"/api/v1/capture/{page_a.slug}/"
    preflight = _preflight(client, url, A)
    assert preflight.status_code == 200
    assert preflight[ALLOW_ORIGIN] == A
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    response = post_json(client, url, api_capture_data(), headers={"Origin": A})
    assert response.status_code == 201
    assert response[ALLOW_ORIGIN] == A
    # Listed with a trailing slash in the admin: the browser's Origin has none.
    blog = "https://blog.a-company.example"
    assert _preflight(client, url, blog)[ALLOW_ORIGIN] == blog


@pytest.mark.parametrize(
    "origin", [B, "https://evil.example", "null", "http://www.a-company.example"]
)
def test_another_pages_origin_or_an_unknown_one_gets_no_cors_headers(
    client: Client, page_a: LandingPage, page_b: LandingPage, origin: str
) -> None:
    url = f"/api/v1/capture/{page_a.slug}/"
    assert ALLOW_ORIGIN not in _preflight(client, url, origin)
    response = post_json(client, url, api_capture_data(), headers={"Origin": origin})
    assert ALLOW_ORIGIN not in response
    # B's own page does allow B.
    assert _preflight(client, f"/api/v1/capture/{page_b.slug}/", B)[ALLOW_ORIGIN] == B


def test_an_unpublished_pages_origins_are_not_allowed(client: Client) -> None:
    hidden = LandingPageFactory(embed_origins=A, published=False)
    assert ALLOW_ORIGIN not in _preflight(client, f"/api/v1/capture/{hidden.slug}/", A)
    assert ALLOW_ORIGIN not in _preflight(client, "/api/v1/track/", A)


def test_the_tracking_endpoint_allows_any_published_pages_sites_and_the_setting(
    client: Client, page_a: LandingPage, settings: Any
) -> None:
    settings.TRACKING_ALLOWED_ORIGINS = ["https://docs.c-company.example"]
    for origin in (A, "https://docs.c-company.example"):
        assert _preflight(client, "/api/v1/track/", origin)[ALLOW_ORIGIN] == origin
    for origin in (B, "https://a-company.example"):
        assert ALLOW_ORIGIN not in _preflight(client, "/api/v1/track/", origin)


def test_an_http_origin_saved_before_https_was_required_gets_no_cors_headers(
    client: Client,
) -> None:
    older = LandingPageFactory(embed_origins="http://shop.a-company.example")  # no validation
    for url in (f"/api/v1/capture/{older.slug}/", "/api/v1/track/"):
        assert ALLOW_ORIGIN not in _preflight(client, url, "http://shop.a-company.example")


def test_other_api_endpoints_never_get_cors_headers(client: Client, page_a: LandingPage) -> None:
    response = _preflight(client, "/api/v1/activities/", A)
    assert ALLOW_ORIGIN not in response
