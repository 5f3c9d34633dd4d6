"""Phone numbers in E.164 and SMS consent, the same on every way a lead comes in:
the landing page, the capture API, the CSV import and the leads API."""

import importlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client

from capture.models import SMS_CONSENT_TEXT, LandingPage, Lead, Submission
from integrations.services import importing
from tests.capture.ingest.support import api_capture_data, post_json, token_client
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db

INVALID = "Enter a valid phone number, with its country code, e.g. +44 20 7946 0958."


@pytest.mark.parametrize(
    ("phone", "country", "stored"),
    [
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),  # national, read in the lead's country
        ("(202) 555-0143", "", "+12025550143"),  # no country: PHONENUMBER_DEFAULT_REGION (US)
        ("+1 202-555-0143", "FR", "+12025550143"),  # a country code wins over the country
    ],
)
def test_it_stores_the_number_in_e164(
    submit: Any, page: LandingPage, settings: Any, phone: str, country: str, stored: str
) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    # No browser zone: the country typed, else the default (test_phone_regions: the zone).
    response = submit(page, phone=phone, country=country, time_zone="")

    assert response.status_code == 302
    assert Lead.objects.get().phone == stored


def test_a_national_number_of_another_country_is_refused_with_a_message(
    submit: Any, page: LandingPage
) -> None:
    # A US number written nationally, on a form that says the lead is in France.
    response = submit(page, phone="(202) 555-0143", country="FR")

    assert response.status_code == 400
    error = re.search(r'id="error_1_id_phone"[^>]*>(.*?)</', response.content.decode(), re.S)
    assert error and INVALID in error.group(1)
    assert not Lead.objects.exists() and not Submission.objects.exists()


def test_the_sms_box_is_shown_beside_the_phone_unticked(client: Client, page: LandingPage) -> None:
    html = client.get(f"/l/{page.slug}/").content.decode()

    box = re.search(r'<input[^>]*name="sms_consent"[^>]*>', html)
    assert box and 'type="checkbox"' in box.group(0) and "checked" not in box.group(0)
    assert SMS_CONSENT_TEXT in html


def test_a_page_without_a_phone_field_asks_no_sms_consent(client: Client) -> None:
    page = LandingPage.objects.create(
        slug="no-phone", title="T", headline="H", fields_shown=["first_name"], published=True
    )
    assert 'name="sms_consent"' not in client.get(f"/l/{page.slug}/").content.decode()


def test_a_ticked_sms_box_is_stored_with_its_time_and_text(submit: Any, page: LandingPage) -> None:
    submit(page, sms_consent="on")

    lead = Lead.objects.get()
    assert lead.sms_consent_text == SMS_CONSENT_TEXT
    assert lead.sms_consent_given_at is not None
    assert lead.consent_given_at is not None  # the email consent stays its own
    assert Submission.objects.get().data["sms_consent"] is True


def test_email_consent_alone_gives_no_sms_consent(submit: Any, page: LandingPage) -> None:
    submit(page)

    lead = Lead.objects.get()
    assert (lead.sms_consent_given_at, lead.sms_consent_text) == (None, "")
    assert Submission.objects.get().data["sms_consent"] is False


def test_the_capture_api_refuses_a_bad_number_and_takes_sms_consent(client: Client) -> None:
    page = LandingPage.objects.create(
        slug="api", title="T", headline="H", fields_shown=["phone", "country"], published=True
    )
    bad = post_json(
        client,
        f"/api/v1/capture/{page.slug}/",
        {"email": "ada@example.com", "phone": "555 123", "country": "GB"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["phone"] == [INVALID]
    assert not Lead.objects.exists()

    good = post_json(
        client,
        f"/api/v1/capture/{page.slug}/",
        api_capture_data(phone="020 7946 0958", country="GB", sms_consent=True),
    )
    assert good.status_code == 201, good.content
    lead = Lead.objects.get()
    assert lead.phone == "+442079460958"
    assert lead.sms_consent_text == SMS_CONSENT_TEXT


def test_the_csv_import_puts_numbers_in_e164_and_names_a_bad_one() -> None:
    user = User.objects.create_user("importer")
    lead_import = importing.create_import(
        file_name="leads.csv",
        raw=(b"Email,Phone,Country\ngb@example.com,020 7946 0958,GB\nbad@example.com,555 123,US\n"),
        user=user,
    )
    importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe=lead_import.Dedupe.FILL_EMPTY,
        sequence=None,
        consent_text="Asked at the expo.",
    )

    result = importing.dry_run_now(import_id=lead_import.pk)

    assert [(e["row"], e["field"], e["message"]) for e in result.row_errors] == [
        (3, "phone", INVALID)
    ]
    rows = list(importing._validated_rows(result))
    assert rows[0].values["phone"] == "+442079460958"


def test_the_leads_api_keeps_the_same_rule() -> None:
    api = token_client(sales_rep())
    lead = LeadFactory(
        phone="",
        country="GB",
        sms_consent_text=SMS_CONSENT_TEXT,
        sms_consent_given_at=datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
    )

    bad = api.patch(
        f"/api/v1/leads/{lead.pk}/", json.dumps({"phone": "12"}), content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["phone"] == [INVALID]
    lead.refresh_from_db()
    assert lead.phone == ""

    # No country in the request: the stored one (GB) reads the national number.
    good = api.patch(
        f"/api/v1/leads/{lead.pk}/",
        json.dumps({"phone": "020 7946 0958"}),
        content_type="application/json",
    )
    assert good.status_code == 200, good.content
    lead.refresh_from_db()
    assert lead.phone == "+442079460958"
    shown = api.get(f"/api/v1/leads/{lead.pk}/").json()
    assert (shown["phone"], shown["sms_consent_given_at"], shown["sms_consent_text"]) == (
        "+442079460958",
        "2026-05-01T09:30:00Z",
        SMS_CONSENT_TEXT,
    )


def test_the_migration_normalises_the_numbers_it_can_and_leaves_the_rest(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    gb = LeadFactory(phone="020 7946 0958", country="GB")
    us = LeadFactory(phone="(202) 555-0143", country="")
    junk = LeadFactory(phone="call me maybe", country="GB")
    blank = LeadFactory(phone="", country="")

    migration = importlib.import_module("capture.migrations.0007_lead_sms_consent_and_e164_phones")
    migration.normalise_phones(apps, None)

    phones = dict(Lead.objects.values_list("pk", "phone"))
    assert phones == {
        gb.pk: "+442079460958",
        us.pk: "+12025550143",
        junk.pk: "call me maybe",
        blank.pk: "",
    }
