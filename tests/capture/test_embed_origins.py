"""Only https:// sites may embed a form: refused when saved, dropped from the embed's CSP."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import LandingPage
from tests.api.conftest import marketer as api_marketer
from tests.api.conftest import token_client
from tests.factories import LandingPageFactory, marketer

pytestmark = pytest.mark.django_db

HTTP_REFUSED = "“http://shop.example.com” is not https: only https:// sites may embed the form."


def _frame_ancestors(response: Any) -> str:
    header = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in header.split(";"))
    return directives["frame-ancestors"]


def test_the_admin_refuses_an_http_origin_with_a_message(client: Client) -> None:
    client.force_login(marketer())
    data = {
        "title": "T",
        "slug": "t",
        "headline": "H",
        "cta_label": "Send",
        "thank_you_text": "Thanks",
        "embed_origins": "https://www.example.com\nhttp://shop.example.com",
    }

    response = client.post(reverse("admin:capture_landingpage_add"), data)

    assert response.status_code == 200  # the admin shows the form again, with the error
    assert HTTP_REFUSED in response.content.decode()
    assert not LandingPage.objects.exists()


def test_the_api_refuses_an_http_origin_with_a_message() -> None:
    api = token_client(api_marketer())
    data = {
        "slug": "webinar",
        "title": "Webinar",
        "headline": "Join us",
        "embed_origins": "https://www.example.com http://shop.example.com",
    }

    response = api.post("/api/v1/landing-pages/", data, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"embed_origins": [HTTP_REFUSED]}
    assert not LandingPage.objects.exists()


def test_the_api_still_takes_https_origins_with_ports() -> None:
    api = token_client(api_marketer())
    data = {
        "slug": "webinar",
        "title": "Webinar",
        "headline": "Join us",
        "embed_origins": "https://www.example.com\nhttps://shop.example.com:8443",
    }

    response = api.post("/api/v1/landing-pages/", data, format="json")

    assert response.status_code == 201, response.content
    page = LandingPage.objects.get()
    assert page.embed_origin_list == ["https://www.example.com", "https://shop.example.com:8443"]


def test_an_http_origin_saved_earlier_is_dropped_from_the_embed_policy(client: Client) -> None:
    # Saved before https was required (the factory skips validation, as old rows did).
    page = LandingPageFactory(
        embed_origins="http://shop.example.com\nhttps://www.example.com\nHTTP://old.example.com"
    )

    response = client.get(f"/l/{page.slug}/embed/")

    assert response.status_code == 200
    assert _frame_ancestors(response) == "'self' https://www.example.com"
