"""Names can't carry web addresses, however the lead comes in: the landing-page form, the
capture API, the CSV import and the leads API all refuse them with the same message. Nor
can the company (the Day-1 email prints it), on the form and the capture API."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from capture.models import LandingPage, Lead
from capture.validators import (
    COMPANY_WITH_WEB_ADDRESS,
    JOB_TITLE_WITH_WEB_ADDRESS,
    NAME_WITH_WEB_ADDRESS,
    has_web_address,
)
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
    # Written so that a short list of top-level domains, or ASCII only, misses them.
    "ｅｖｉｌ．ｃｏｍ",
    "evil。com",
    "evil｡com",
    "Eve evil.ly",
    "Ann casino.ai",
    "Visit shop.example.travel",
    "evil\u200b.com",
    "Bob 203.0.113.9",
]
# What a person is called, dots, apostrophes and accents included.
ORDINARY_NAMES = ["J.R.", "J. R.", "St. John", "O'Brien-Smith", "O'Brien", "Zoë", "Jean-Luc", "Ng"]


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


@pytest.mark.parametrize("name", ORDINARY_NAMES)
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


WEB_COMPANIES = [
    "[Verify](https://evil.example/a) https://evil.example/b www.evil.com",
    "booking.com",
    "ｅｖｉｌ．ｃｏｍ",
    "Evil。ly",
    "Acme (acme.ai)",
]


@pytest.mark.parametrize("company", WEB_COMPANIES)
def test_the_landing_page_form_refuses_a_company_with_a_web_address(
    submit: Any, page: LandingPage, company: str
) -> None:
    response = submit(page, company=company)

    assert response.status_code == 400
    assert COMPANY_WITH_WEB_ADDRESS.replace("'", "&#x27;") in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("company", WEB_COMPANIES)
def test_the_capture_api_refuses_a_company_with_a_web_address(
    client: Client, page: LandingPage, company: str
) -> None:
    response = post_json(client, f"/api/v1/capture/{page.slug}/", api_capture_data(company=company))

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["company"] == [COMPANY_WITH_WEB_ADDRESS]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "company", ["Booking Holdings", "AT&T", "St. James's Place", "S.p.A.", "3M", "L'Oréal"]
)
def test_ordinary_company_names_are_accepted(submit: Any, page: LandingPage, company: str) -> None:
    response = submit(page, company=company)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Lead.objects.get().company == company


@pytest.mark.parametrize("value", [*WEB_NAMES, *WEB_COMPANIES])
def test_every_web_address_is_seen_as_one(value: str) -> None:
    assert has_web_address(value)


@pytest.mark.parametrize("value", [*ORDINARY_NAMES, "Analytical Engines Ltd", "Mr. Cooper"])
def test_no_ordinary_name_is_seen_as_a_web_address(value: str) -> None:
    assert not has_web_address(value)


WEB_TITLES = ["CEO of evil.ly", "https://evil.example/jobs", "ｗｗｗ．evil．com"]


@pytest.mark.parametrize("title", WEB_TITLES)
def test_the_form_and_the_capture_api_refuse_a_job_title_with_a_web_address(
    submit: Any, client: Client, page: LandingPage, title: str
) -> None:
    # {{ job_title }} is a merge field: as good a place for a link as a name.
    response = submit(page, job_title=title)
    assert response.status_code == 400
    assert JOB_TITLE_WITH_WEB_ADDRESS in response.content.decode()
    api = post_json(client, f"/api/v1/capture/{page.slug}/", api_capture_data(job_title=title))
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["job_title"] == [JOB_TITLE_WITH_WEB_ADDRESS]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "title", ["VP, Sales & Marketing", "Sr. Engineer", "C.E.O.", "Head of R&D"]
)
def test_ordinary_job_titles_are_accepted(submit: Any, page: LandingPage, title: str) -> None:
    assert submit(page, job_title=title).status_code == 302
    assert Lead.objects.get().job_title == title
