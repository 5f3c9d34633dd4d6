"""CSV import, reading and validating rows (integrations.services.importing.rows)."""

import pytest
from django.contrib.auth.models import User

from capture.models import Activity, Lead
from integrations.models import LeadImport
from integrations.services import importing
from tests.factories import (
    CampaignFactory,
    LeadFactory,
)
from tests.integrations.importing.support import mapped, upload

pytestmark = pytest.mark.django_db


def test_the_dry_run_reports_row_errors_and_counts_and_writes_nothing(user: User) -> None:
    LeadFactory(email="known@example.com", company="")
    campaign = CampaignFactory(utm_campaign="expo-2026")
    body = (
        "new@example.com,New,Lead,Acme,CTO,Europe/Paris,FR,expo-2026\n"  # row 2: fine
        "not-an-email,Bad,Email,,,,,\n"  # row 3
        f"long@example.com,{'x' * 101},,,,,,\n"  # row 4: first name too long
        "NEW@example.com ,Again,,,,,,\n"  # row 5: duplicate of row 2 once normalised
        "tz@example.com,,,,,Mars/Olympus,,\n"  # row 6: bad time zone
        "known@example.com,,,Filled Ltd,,,,\n"  # row 7: existing lead, empty company filled
        "country@example.com,,,,,,Atlantis,nope\n"  # row 8: bad country, unknown campaign
    )
    lead_import = mapped(upload(user, body))
    leads_before = list(Lead.objects.values_list("pk", "email", "company", "updated_at"))

    result = importing.dry_run_now(import_id=lead_import.pk)

    assert result.status == LeadImport.Status.DRY_RUN
    assert result.is_dry_run
    assert (result.total_rows, result.processed_rows) == (7, 7)
    assert (result.created_count, result.updated_count, result.skipped_count) == (1, 1, 0)
    assert result.error_count == 5
    problems = {(error["row"], error["field"]) for error in result.row_errors}
    assert problems == {
        (3, "email"),
        (4, "first_name"),
        (5, "email"),
        (6, "time_zone"),
        (8, "country"),
        (8, "campaign"),
    }
    duplicate = next(error for error in result.row_errors if error["row"] == 5)
    assert duplicate["message"] == "Duplicate of row 2 in this file."
    assert list(Lead.objects.values_list("pk", "email", "company", "updated_at")) == leads_before
    assert not Activity.objects.exists()
    assert campaign.leads.count() == 0
