"""The import as a marketer does it, through HTTP: upload → mapping → dry run → import."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from capture.models import Lead
from integrations.models import LeadImport
from integrations.services import importing
from tests.factories import LeadFactory, playbook_sequence
from tests.integrations.factories import marketer, sales_rep

pytestmark = pytest.mark.django_db

CSV = (
    "E-mail;Vorname;Firma;Zeitzone\r\n"
    "ada@example.com;Ada;Analytical;Europe/London\r\n"
    "grace@example.com;Grace;Navy;Mars/Base\r\n"
    "known@example.com;Known;Filled;\r\n"
)


@pytest.fixture
def signed_in(client: Client) -> Client:
    client.force_login(marketer())
    return client


def _upload(client: Client, text: str = CSV) -> Any:
    file = SimpleUploadedFile("expo.csv", ("\ufeff" + text).encode(), content_type="text/csv")
    return client.post("/admin/integrations/leadimport/add/", {"file": file})


def _mapping(lead_import: LeadImport, **extra: str) -> dict[str, str]:
    fields = {
        "column_0": "email",
        "column_1": "first_name",
        "column_2": "company",
        "column_3": "time_zone",
    }
    return {
        **fields,
        "dedupe": "fill_empty",
        "consent": "on",
        "consent_text": "Asked at our booth to hear from us.",
        **extra,
    }


def test_a_marketer_imports_a_csv_through_the_admin(
    signed_in: Client, django_capture_on_commit_callbacks: Any
) -> None:
    LeadFactory(email="known@example.com", first_name="Known", company="")
    sequence = playbook_sequence()

    uploaded = _upload(signed_in)
    lead_import = LeadImport.objects.get()
    mapping_url = f"/admin/integrations/leadimport/{lead_import.pk}/mapping/"
    assert uploaded.status_code == 302
    assert uploaded["Location"] == mapping_url
    page = signed_in.get(mapping_url)
    assert page.status_code == 200
    assert b"ada@example.com" in page.content  # first values beside each column
    assert b'<option value="email" selected>' in page.content  # guessed from "E-mail"

    dry = signed_in.post(mapping_url, _mapping(lead_import, sequence=str(sequence.pk)))
    detail_url = f"/admin/integrations/leadimport/{lead_import.pk}/change/"
    assert dry.status_code == 302
    assert dry["Location"] == detail_url
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.DRY_RUN
    assert (lead_import.created_count, lead_import.updated_count, lead_import.error_count) == (
        1,
        1,
        1,
    )
    assert Lead.objects.count() == 1  # the dry run wrote nothing
    shown = signed_in.get(detail_url)
    assert b"Not an IANA time zone name." in shown.content
    # What the run would write: the new lead and the updated one, not the row in error.
    assert b"Import 2 rows (leaving out 1 with errors)" in shown.content
    assert b'http-equiv="refresh"' not in shown.content

    with django_capture_on_commit_callbacks(execute=True):
        started = signed_in.post(f"/admin/integrations/leadimport/{lead_import.pk}/start/")
    assert started.status_code == 302
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.DONE
    assert not lead_import.is_dry_run
    assert (lead_import.created_count, lead_import.updated_count) == (1, 1)
    assert set(Lead.objects.values_list("email", "company")) == {
        ("ada@example.com", "Analytical"),
        ("known@example.com", "Filled"),
    }
    assert Lead.objects.get(email="ada@example.com").enrollments.get().sequence == sequence
    done = signed_in.get(detail_url)
    assert b"Done" in done.content
    assert signed_in.get("/admin/integrations/leadimport/").status_code == 200


def test_a_large_file_is_dry_run_in_the_background_and_the_page_follows_it(
    signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "SYNC_DRY_RUN_ROWS", 1)
    _upload(signed_in)
    lead_import = LeadImport.objects.get()

    # The worker has not picked the task up yet (its on-commit hand-over is not run here).
    signed_in.post(
        f"/admin/integrations/leadimport/{lead_import.pk}/mapping/", _mapping(lead_import)
    )

    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.is_dry_run) == ("queued", True)
    shown = signed_in.get(f"/admin/integrations/leadimport/{lead_import.pk}/change/")
    assert b'<meta http-equiv="refresh" content="2">' in shown.content
    assert b"<progress" in shown.content


def test_the_mapping_needs_an_email_column_and_the_consent_box(signed_in: Client) -> None:
    _upload(signed_in)
    lead_import = LeadImport.objects.get()
    url = f"/admin/integrations/leadimport/{lead_import.pk}/mapping/"

    no_email = signed_in.post(url, _mapping(lead_import, column_0=""))
    no_consent = signed_in.post(url, {**_mapping(lead_import), "consent": ""})
    twice = signed_in.post(url, _mapping(lead_import, column_1="company"))

    assert b"Choose the column that holds the email address." in no_email.content
    assert b"This field is required." in no_consent.content
    assert b"Each field takes one column: Company." in twice.content
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.UPLOADED


def test_the_upload_page_explains_a_bad_file(signed_in: Client) -> None:
    file = SimpleUploadedFile("x.csv", "email\n".encode("utf-16"), content_type="text/csv")

    response = signed_in.post("/admin/integrations/leadimport/add/", {"file": file})

    assert response.status_code == 400
    assert b"is not UTF-8 text" in response.content
    assert not LeadImport.objects.exists()


def test_a_file_with_too_many_columns_is_refused_at_upload(
    signed_in: Client, settings: Any
) -> None:
    settings.INTEGRATIONS_IMPORT_MAX_COLUMNS = 200
    header = ";".join(["email", *(f"extra {index}" for index in range(20_000))])
    row = ";".join(["ada@example.com", *("x" for _ in range(20_000))])

    response = _upload(signed_in, f"{header}\r\n{row}\r\n")

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "The file has 20,001 columns; an import takes at most 200. "
        "Remove the columns you do not need and upload it again."
    ) in html
    assert len(response.content) < 100_000, "the refusal is a short page, not a mapping"
    assert not LeadImport.objects.exists()


def test_a_file_at_the_column_limit_is_taken(signed_in: Client, settings: Any) -> None:
    settings.INTEGRATIONS_IMPORT_MAX_COLUMNS = 200
    header = ";".join(["email", *(f"extra {index}" for index in range(199))])

    response = _upload(signed_in, f"{header}\r\nada@example.com\r\n")

    assert response.status_code == 302
    assert len(LeadImport.objects.get().headers) == 200


def test_an_import_cannot_start_before_its_dry_run(signed_in: Client) -> None:
    _upload(signed_in)
    lead_import = LeadImport.objects.get()

    signed_in.post(f"/admin/integrations/leadimport/{lead_import.pk}/start/")

    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.UPLOADED


def test_sales_reps_cannot_import(client: Client) -> None:
    client.force_login(sales_rep())

    response = _upload(client)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not LeadImport.objects.exists()
