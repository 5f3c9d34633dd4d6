"""The form's signed start token lives a day: an older one gets a message, not a lead."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from capture.models import Activity, LandingPage, Lead, Submission
from tests.conftest import valid_form_data

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _started_on_page(html: str) -> str:
    return re.search(r'name="started" value="([^"]+)"', html).group(1)


def test_a_form_left_open_for_over_a_day_is_refused_with_a_message_and_renewed(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_FORM_MAX_AGE_SECONDS = 86_400
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    with time_machine.travel(OPENED, tick=False):
        old_token = _started_on_page(client.get(url).content.decode())

    with time_machine.travel(OPENED + timedelta(days=1, minutes=1), tick=False):
        response = client.post(url, valid_form_data(started=old_token))

    assert response.status_code == 400
    html = response.content.decode()
    assert "This form has expired; please check your details and send it again." in html
    assert not (Lead.objects.exists() or Submission.objects.exists() or Activity.objects.exists())
    # What the person typed is still there, with a token of today's: sending again works.
    assert 'value="ada@example.com"' in html
    fresh_token = _started_on_page(html)
    assert fresh_token != old_token
    with time_machine.travel(OPENED + timedelta(days=1, minutes=2), tick=False):
        again = client.post(url, valid_form_data(started=fresh_token))
    assert again.status_code == 302
    assert Lead.objects.get().email == "ada@example.com"


def test_a_form_sent_within_the_day_is_taken(
    client: Client, page: LandingPage, settings: Any
) -> None:
    settings.CAPTURE_FORM_MAX_AGE_SECONDS = 86_400
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    with time_machine.travel(OPENED, tick=False):
        token = _started_on_page(client.get(url).content.decode())

    with time_machine.travel(OPENED + timedelta(hours=23, minutes=59), tick=False):
        response = client.post(url, valid_form_data(started=token))

    assert response.status_code == 302
    assert Lead.objects.count() == 1


def test_the_lifetime_is_a_setting(client: Client, page: LandingPage, settings: Any) -> None:
    settings.CAPTURE_FORM_MAX_AGE_SECONDS = 600
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    with time_machine.travel(OPENED, tick=False):
        token = _started_on_page(client.get(url).content.decode())

    with time_machine.travel(OPENED + timedelta(minutes=11), tick=False):
        response = client.post(url, valid_form_data(started=token))

    assert response.status_code == 400
    assert not Lead.objects.exists()
