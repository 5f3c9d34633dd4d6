"""CSV import, upload and mapping (integrations.services.importing.uploads)."""

from typing import Any

import pytest
from django.contrib.auth.models import User

from integrations.models import LeadImport
from integrations.services import importing
from tests.integrations.importing.support import upload

pytestmark = pytest.mark.django_db


def test_it_guesses_the_mapping_from_the_headers(user: User) -> None:
    lead_import = upload(user, "ada@example.com,Ada,Lovelace,AE,CEO,Europe/London,GB,\n")

    assert lead_import.mapping == {
        "Email": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
        "Job Title": "job_title",
        "Time zone": "time_zone",
        "Country": "country",
        "Campaign": "campaign",
    }
    assert lead_import.total_rows == 1
    assert lead_import.status == LeadImport.Status.UPLOADED


def test_it_reads_excel_utf8_with_a_bom_and_semicolons(user: User) -> None:
    raw = "\ufeffE-mail;Vorname\r\njürgen@example.de;Jürgen\r\n\r\nzoë@example.com;Zoë\r\n"

    lead_import = importing.create_import(file_name="x.csv", raw=raw.encode(), user=user)

    assert lead_import.delimiter == ";"
    assert lead_import.headers == ["E-mail", "Vorname"]
    assert lead_import.mapping == {"E-mail": "email"}
    assert lead_import.total_rows == 2  # the blank line is not a row


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("email\n".encode("utf-16"), "not UTF-8"),
        (b"", "empty"),
        (b"email\n", "no leads"),
        (b"email\n" + b"a@example.com\n" * 10, "larger than"),
    ],
)
def test_it_refuses_a_file_it_cannot_import(
    user: User, raw: bytes, message: str, settings: Any
) -> None:
    settings.INTEGRATIONS_IMPORT_MAX_BYTES = 100

    with pytest.raises(importing.ImportFileError, match=message):
        importing.create_import(file_name="x.csv", raw=raw, user=user)

    assert not LeadImport.objects.exists()
