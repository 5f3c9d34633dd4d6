"""Retargeting audiences: segments, exclusions and the hashed-email CSV ad platforms take."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from capture.models import Activity, Lead
from integrations.models import AudienceExport
from integrations.selectors import Behaviour, audience_leads, hash_email, hashed_audience_csv
from integrations.services.privacy import erase_lead
from nurture.models import Suppression
from sales.selectors.dashboard import DashboardFilters
from tests.factories import ActivityFactory, CampaignFactory, LeadFactory
from tests.integrations.factories import marketer, sales_rep

pytestmark = pytest.mark.django_db

# Computed once with `printf '%s' <address> | sha256sum`, not by the code under test.
KNOWN = {
    "test@example.com": "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b",
    "ada.lovelace@example.com": "e814ff3dc480a94c7ce9334062ec4733c75a002f4bcec0197f62ffea64059e2f",
    "first.last+tag@gmail.com": "a3997a3fbbd1a0839c1eb9240489103ddc167f6b5cfa1c429c48ff2190346a4f",
}


def _emails(leads: Any) -> set[str]:
    return set(leads.values_list("email", flat=True))


@pytest.mark.parametrize("address", list(KNOWN))
def test_it_hashes_the_trimmed_lower_cased_address(address: str) -> None:
    assert hash_email(f"  {address.upper()} ") == KNOWN[address]


def test_gmail_dots_and_tags_are_kept_as_they_are() -> None:
    assert hash_email("first.last+tag@gmail.com") != hash_email("firstlast@gmail.com")


def test_the_csv_has_one_email_column_of_hashes() -> None:
    for address in KNOWN:
        LeadFactory(email=address)

    lines = list(hashed_audience_csv(Lead.objects.all()))

    assert lines[0] == "email\n"
    assert sorted(lines[1:]) == sorted(f"{digest}\n" for digest in KNOWN.values())


def test_the_csv_is_read_in_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.selectors.BATCH", 2)
    for n in range(5):
        LeadFactory(email=f"p{n}@example.com")

    assert len(list(hashed_audience_csv(Lead.objects.all()))) == 6


def test_opened_but_did_not_click_in_the_last_days() -> None:
    now = timezone.now()
    opened = LeadFactory(email="opened@example.com")
    clicked = LeadFactory(email="clicked@example.com")
    stale = LeadFactory(email="stale@example.com")
    LeadFactory(email="idle@example.com")
    for lead in (opened, clicked):
        ActivityFactory(lead=lead, kind=Activity.Kind.EMAIL_OPENED, occurred_at=now)
    ActivityFactory(lead=clicked, kind=Activity.Kind.EMAIL_CLICKED, occurred_at=now)
    ActivityFactory(
        lead=stale, kind=Activity.Kind.EMAIL_OPENED, occurred_at=now - timedelta(days=8)
    )
    user = marketer()

    def segment(behaviour: str) -> set[str]:
        return _emails(
            audience_leads(filters=DashboardFilters(), user=user, behaviour=behaviour, days=7)
        )

    assert segment(Behaviour.OPENED_NOT_CLICKED) == {"opened@example.com"}
    assert segment(Behaviour.CLICKED) == {"clicked@example.com"}
    assert segment(Behaviour.INACTIVE) == {"stale@example.com", "idle@example.com"}


def test_a_dashboard_filter_narrows_the_audience() -> None:
    campaign = CampaignFactory()
    LeadFactory(email="hot@example.com", temperature="hot", campaign=campaign)
    LeadFactory(email="cold@example.com", temperature="cold", campaign=campaign)
    LeadFactory(email="other@example.com", temperature="hot")

    leads = audience_leads(
        filters=DashboardFilters(temperature="hot", campaign_id=campaign.pk), user=marketer()
    )

    assert _emails(leads) == {"hot@example.com"}


def test_erased_suppressed_and_unconsented_leads_are_left_out() -> None:
    now = timezone.now()
    LeadFactory(email="kept@example.com", consent_given_at=now)
    LeadFactory(email="no-consent@example.com")
    LeadFactory(email="gone@example.com", consent_given_at=now)
    Suppression.objects.create(email="gone@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    erased = LeadFactory(email="erased@example.com", consent_given_at=now)
    erase_lead(lead_id=erased.pk, actor=None, reason="")
    user = marketer()

    everyone = audience_leads(filters=DashboardFilters(), user=user)
    consented = audience_leads(filters=DashboardFilters(), user=user, consented_only=True)

    assert _emails(everyone) == {"kept@example.com", "no-consent@example.com"}
    assert _emails(consented) == {"kept@example.com"}


def test_a_marketer_downloads_an_audience_from_the_admin(client: Client) -> None:
    user = marketer()
    LeadFactory(email="test@example.com", temperature="hot")
    LeadFactory(email="cold@example.com", temperature="cold")
    client.force_login(user)

    form = client.get("/admin/integrations/audienceexport/add/")
    response = client.post(
        "/admin/integrations/audienceexport/add/",
        {"temperature": "hot", "behaviour": "", "days": "7"},
    )

    assert form.status_code == 200
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audience-')
    body = b"".join(response.streaming_content).decode()
    assert body == f"email\n{KNOWN['test@example.com']}\n"
    audit = AudienceExport.objects.get()
    assert (audit.created_by, audit.row_count) == (user, 1)
    assert audit.segment["temperature"] == "hot"


def test_the_admin_refuses_a_bad_segment(client: Client) -> None:
    client.force_login(marketer())

    response = client.post("/admin/integrations/audienceexport/add/", {"days": "0"})

    assert response.status_code == 200
    assert not AudienceExport.objects.exists()


def test_sales_reps_cannot_export_audiences(client: Client) -> None:
    client.force_login(sales_rep())

    response = client.post("/admin/integrations/audienceexport/add/", {})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
