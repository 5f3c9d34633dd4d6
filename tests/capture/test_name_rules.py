"""Names can't carry web addresses, however the lead comes in: the landing-page form, the
capture API, the CSV import and the leads API all refuse them with the same message."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from capture.models import LandingPage, Lead
from capture.validators import NAME_WITH_WEB_ADDRESS
from integrations.services import importing
from tests.capture.ingest.support import api_capture_data, counts, post_json
from tests.factories import marketer

pytestmark = pytest.mark.django_db
WEB_NAMES = [
    "[Verify your account](https://evil.example/login)",
    "https://evil.example",
    "Visit www.cheap-pills.biz",
    "bit.ly/xyz",
    "Ann casino.com",
]


@pytest.mark.parametrize("name", WEB_NAMES)
@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_the_landing_page_form_refuses_a_name_with_a_web_address(
    submit: Any, page: LandingPage, field: str, name: str
) -> None:
    response = submit(page, **{field: name})

    assert response.status_code == 400
    assert NAME_WITH_WEB_ADDRESS.replace("'", "&#x27;") in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("name", WEB_NAMES)
def test_the_capture_api_refuses_a_name_with_a_web_address(
    client: Client, page: LandingPage, name: str
) -> None:
    response = post_json(client, f"/api/v1/capture/{page.slug}/", api_capture_data(first_name=name))

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["first_name"] == [NAME_WITH_WEB_ADDRESS]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("name", ["J.R.", "St. John", "Mary.Ann", "O'Brien-Smith", "Zoë"])
def test_ordinary_names_with_dots_are_accepted(submit: Any, page: LandingPage, name: str) -> None:
    response = submit(page, first_name=name)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Lead.objects.get().first_name == name


def test_the_csv_import_refuses_a_name_with_a_web_address() -> None:
    body = (
        "Email,First Name,Last Name\n"
        "ok@example.com,Ada,Lovelace\n"
        "spam@example.com,https://evil.example/login,Bot\n"
        "spam2@example.com,Eve,[click](https://evil.example)\n"
    )
    lead_import = importing.create_import(file_name="l.csv", raw=body.encode(), user=marketer())
    importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe="fill_empty",
        sequence=None,
        consent_text="",
    )

    result = importing.dry_run_now(import_id=lead_import.pk)

    assert result.error_count == 2
    assert [(e["row"], e["field"], e["message"]) for e in result.row_errors] == [
        (3, "first_name", NAME_WITH_WEB_ADDRESS),
        (4, "last_name", NAME_WITH_WEB_ADDRESS),
    ]


def test_the_leads_api_refuses_a_name_with_a_web_address() -> None:
    client = APIClient()
    client.force_authenticate(marketer())
    body = {"email": "bot@example.com", "last_name": "https://evil.example/login"}

    response = client.post("/api/v1/leads/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["last_name"] == [NAME_WITH_WEB_ADDRESS]
    assert not Lead.objects.exists()
