from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Activity, LandingPage, Lead, Submission
from tests.conftest import started_token, valid_form_data

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not (Lead.objects.exists() or Submission.objects.exists() or Activity.objects.exists())


def test_a_filled_honeypot_is_answered_like_a_human_and_stores_nothing(
    submit: Any, page: LandingPage
) -> None:
    response = submit(page, website="http://spam.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("capture:thanks", kwargs={"slug": page.slug})
    assert _nothing_stored()


def test_a_form_sent_back_too_fast_stores_nothing(
    submit: Any, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_MIN_FILL_SECONDS = 2
    response = submit(page, started=started_token(seconds_ago=0.5))
    assert response.status_code == 302
    assert _nothing_stored()
    submit(page, started=started_token(seconds_ago=3))
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("started", ["", "123.0", "123.0:forged:signature"])
def test_a_missing_or_forged_start_token_stores_nothing(
    submit: Any, page: LandingPage, started: str
) -> None:
    assert submit(page, started=started).status_code == 302
    assert _nothing_stored()


def test_the_rate_limit_answers_429_with_a_message(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_RATE_LIMIT = "3/m"
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    statuses = [
        client.post(url, valid_form_data(email=f"p{i}@example.com")).status_code for i in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    response = client.post(url, valid_form_data(email="late@example.com"))
    assert response.status_code == 429
    assert "Please wait a minute and try again." in response.content.decode()
    assert response["Retry-After"] == "60"
    assert Lead.objects.count() == 3
    other_ip = client.post(
        url, valid_form_data(email="other@example.com"), REMOTE_ADDR="203.0.113.9"
    )
    assert other_ip.status_code == 302, "the limit is per client address"


def test_the_rate_limit_can_be_turned_off(client: Client, page: LandingPage, settings: Any) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    for i in range(15):
        assert client.post(url, valid_form_data(email=f"p{i}@example.com")).status_code == 302
    assert Lead.objects.count() == 15


def test_viewing_the_page_is_not_rate_limited(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_RATE_LIMIT = "2/m"
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    assert all(client.get(url).status_code == 200 for _ in range(5))
