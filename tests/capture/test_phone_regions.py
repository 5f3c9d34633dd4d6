"""A phone number without its country code is read where the visitor is: the country it
chose, else the returning lead's own, else its browser's time zone's, else the default."""

import re
from typing import Any

import pytest
from django.test import Client

from capture.models import LandingPage, Lead
from capture.tracking import COOKIE_NAME, tracking_token
from capture.validators import INVALID_PHONE
from leadfunnel.zones import time_zone_country
from tests.capture.ingest.support import api_capture_data, post_json
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db
BERLIN = "030 1234567"


@pytest.fixture(autouse=True)
def _default_region(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "US"


def _page(**overrides: Any) -> LandingPage:
    return LandingPageFactory(
        **{"fields_shown": ["first_name", "phone", "country"], "consent_text": "", **overrides}
    )


def _phone_error(response: Any) -> str:
    html = response.content.decode()
    found = re.search(r'id="error_1_id_phone"[^>]*>(.*?)</span>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


@pytest.mark.parametrize(
    ("phone", "country", "time_zone", "stored"),
    [
        (BERLIN, "DE", "America/New_York", "+49301234567"),  # the country chosen wins
        (BERLIN, "", "Europe/Berlin", "+49301234567"),  # else the browser's zone
        (BERLIN, "", "Europe/Oslo", None),  # a Norwegian zone: not a number of Norway
        (BERLIN, "", "", None),  # else the default region (US): not a US number
        ("(202) 555-0143", "", "", "+12025550143"),
        ("(202) 555-0143", "", "Etc/UTC", "+12025550143"),  # a zone of no country
        ("+49 30 1234567", "", "America/Chicago", "+49301234567"),  # a country code wins
    ],
)
def test_a_national_number_is_read_in_the_country_the_visitor_is_in(
    client: Client, phone: str, country: str, time_zone: str, stored: str | None
) -> None:
    page = _page()
    response = client.post(
        f"/l/{page.slug}/", valid_form_data(phone=phone, country=country, time_zone=time_zone)
    )

    if stored is None:
        assert response.status_code == 400
        assert _phone_error(response) == INVALID_PHONE
        assert not Lead.objects.exists()
    else:
        assert response.status_code == 302
        assert Lead.objects.get().phone == stored


def test_a_returning_lead_is_read_in_its_stored_country(client: Client) -> None:
    page = _page()
    lead = LeadFactory(email="max@fieldstone.example", country="DE", phone="")
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid)
    # The country it gave is not asked again; its browser reports no zone.
    form = client.get(f"/l/{page.slug}/").content.decode()
    assert 'name="country"' not in form and 'name="phone"' in form

    response = client.post(
        f"/l/{page.slug}/",
        valid_form_data(email="max@fieldstone.example", phone=BERLIN, country=None, time_zone=""),
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.phone == "+49301234567"


def test_another_address_from_that_browser_is_not_read_in_the_leads_country(
    client: Client,
) -> None:
    page = _page()
    lead = LeadFactory(email="max@fieldstone.example", country="DE")
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid)

    response = client.post(
        f"/l/{page.slug}/",
        valid_form_data(email="sam@otherco.example", phone=BERLIN, country=None, time_zone=""),
    )

    assert response.status_code == 400
    assert _phone_error(response) == INVALID_PHONE


def test_a_number_that_cannot_be_parsed_keeps_its_message(client: Client) -> None:
    page = _page()
    response = client.post(
        f"/l/{page.slug}/", valid_form_data(phone="12", country="", time_zone="Europe/Berlin")
    )

    assert response.status_code == 400
    assert _phone_error(response) == INVALID_PHONE


def test_the_capture_api_reads_it_in_the_zone_it_sends(client: Client) -> None:
    page = _page()
    response = post_json(
        client,
        f"/api/v1/capture/{page.slug}/",
        api_capture_data(phone=BERLIN, country="", time_zone="Europe/Berlin"),
    )

    assert response.status_code == 201
    assert Lead.objects.get().phone == "+49301234567"


@pytest.mark.parametrize(
    ("time_zone", "country"),
    [
        ("Europe/Berlin", "DE"),
        ("Europe/Oslo", "NO"),  # its own line in zone.tab, though it links to Berlin
        ("Asia/Calcutta", "IN"),  # an old name Chrome still reports, linked to Asia/Kolkata
        ("Europe/Kiev", "UA"),
        ("Iceland", ""),  # linked to Africa/Abidjan, a zone of a dozen countries
        ("Atlantic/Jan_Mayen", ""),  # Norway's, linked to Berlin
        ("Etc/UTC", ""),
        ("Mars/Olympus_Mons", ""),
        ("", ""),
    ],
)
def test_a_time_zone_names_a_country_only_when_it_is_one_countrys(
    time_zone: str, country: str
) -> None:
    assert time_zone_country(time_zone) == country


def test_the_phone_field_brings_up_the_number_keypad(client: Client) -> None:
    page = _page()
    html = client.get(f"/l/{page.slug}/").content.decode()

    phone = re.search(r'<input[^>]*name="phone"[^>]*>', html)
    assert phone, html
    assert 'type="tel"' in phone.group(0) and 'autocomplete="tel"' in phone.group(0)
