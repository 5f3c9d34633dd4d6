"""/api/v1/landing-pages/, campaigns/ and submissions/."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from capture.models import Campaign, LandingPage, Submission
from tests.api.conftest import error
from tests.factories import CampaignFactory, LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db

PAGES, CAMPAIGNS, SUBMISSIONS = (
    "/api/v1/landing-pages/",
    "/api/v1/campaigns/",
    "/api/v1/submissions/",
)


def page_data(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "webinar",
        "title": "Webinar",
        "headline": "Join us",
        "fields_shown": ["first_name", "company"],
        "fields_required": ["company"],
        "embed_origins": "https://www.example.com",
        **overrides,
    }


class TestLandingPages:
    def test_a_marketer_creates_updates_and_deletes_a_page(self, marketer_api: APIClient) -> None:
        campaign = CampaignFactory()
        created = marketer_api.post(PAGES, page_data(campaign=campaign.pk), format="json")
        assert created.status_code == 201, created.content
        page = LandingPage.objects.get(slug="webinar")
        assert (page.fields_required, page.campaign) == (["company"], campaign)
        changed = marketer_api.patch(f"{PAGES}{page.pk}/", {"published": True}, format="json")
        assert changed.status_code == 200
        assert changed.json()["published"] is True
        assert marketer_api.delete(f"{PAGES}{page.pk}/").status_code == 204
        assert not LandingPage.objects.exists()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"fields_required": ["phone"]}, "fields_required"),
            ({"fields_shown": ["shoe_size"]}, "fields_shown[0]"),  # the item at fault
            ({"qualifying_question": "When?", "qualifying_choices": " "}, "qualifying_choices"),
            ({"embed_origins": "https://www.example.com/page"}, "embed_origins"),
            ({"embed_origins": "example.com"}, "embed_origins"),
            ({"slug": "not a slug"}, "slug"),
            ({"title": ""}, "title"),
            ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
            ({"campaign": 999999}, "campaign"),
        ],
    )
    def test_it_validates_as_the_admin_does(
        self, marketer_api: APIClient, overrides: dict[str, Any], field: str
    ) -> None:
        response = marketer_api.post(PAGES, page_data(**overrides), format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]
        assert not LandingPage.objects.exists()

    def test_a_partial_update_is_validated_against_the_stored_page(
        self, marketer_api: APIClient
    ) -> None:
        page = LandingPageFactory(fields_shown=["company"], fields_required=["company"])
        response = marketer_api.patch(f"{PAGES}{page.pk}/", {"fields_shown": []}, format="json")
        assert response.status_code == 400
        assert "fields_required" in error(response)["fields"]

    def test_a_duplicate_slug_is_refused_naming_the_slug(self, marketer_api: APIClient) -> None:
        LandingPageFactory(slug="webinar")
        response = marketer_api.post(PAGES, page_data(), format="json")
        assert response.status_code == 400
        assert "slug" in error(response)["fields"]

    def test_a_page_with_submissions_cannot_be_deleted(self, marketer_api: APIClient) -> None:
        page = LandingPageFactory()
        Submission.objects.create(lead=LeadFactory(), landing_page=page)
        response = marketer_api.delete(f"{PAGES}{page.pk}/")
        assert response.status_code == 409
        assert error(response)["code"] == "conflict"
        assert LandingPage.objects.filter(pk=page.pk).exists()

    def test_a_sales_rep_reads_but_does_not_write(self, rep_api: APIClient) -> None:
        page = LandingPageFactory()
        assert rep_api.get(PAGES).json()["results"][0]["slug"] == page.slug
        assert rep_api.get(f"{PAGES}{page.pk}/").status_code == 200
        assert rep_api.post(PAGES, page_data(), format="json").status_code == 403
        assert rep_api.patch(f"{PAGES}{page.pk}/", {"title": "x"}, format="json").status_code == 403
        assert rep_api.delete(f"{PAGES}{page.pk}/").status_code == 403


class TestCampaigns:
    def test_a_marketer_creates_a_campaign(self, marketer_api: APIClient) -> None:
        response = marketer_api.post(
            CAMPAIGNS,
            {
                "name": "Spring",
                "utm_campaign": "spring-26",
                "spend": "1200.50",
                "starts_on": "2026-03-01",
                "ends_on": "2026-05-31",
                "channel": "paid_social",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        assert Campaign.objects.get().spend == 1200.50
        assert response.json()["spend"] == "1200.50"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"spend": "-1"}, "spend"),
            ({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on"),
            ({"channel": "billboard"}, "channel"),
            ({"utm_campaign": "has spaces"}, "utm_campaign"),
            ({"spend": "12345678901234"}, "spend"),
        ],
    )
    def test_it_names_the_bad_field(
        self, marketer_api: APIClient, data: dict[str, str], field: str
    ) -> None:
        response = marketer_api.post(
            CAMPAIGNS, {"name": "Spring", "utm_campaign": "spring", **data}, format="json"
        )
        assert response.status_code == 400
        assert field in error(response)["fields"]

    def test_a_patch_checks_dates_against_the_stored_campaign(
        self, marketer_api: APIClient
    ) -> None:
        campaign = CampaignFactory(starts_on="2026-05-01")
        response = marketer_api.patch(
            f"{CAMPAIGNS}{campaign.pk}/", {"ends_on": "2026-04-01"}, format="json"
        )
        assert response.status_code == 400
        assert "ends_on" in error(response)["fields"]


class TestSubmissions:
    def test_it_lists_submissions_filtered_by_lead_and_page(self, rep_api: APIClient) -> None:
        page, other_page = LandingPageFactory(), LandingPageFactory()
        lead, other_lead = LeadFactory(), LeadFactory()
        mine = Submission.objects.create(lead=lead, landing_page=page, utm_source="google")
        Submission.objects.create(lead=other_lead, landing_page=page)
        Submission.objects.create(lead=lead, landing_page=other_page)
        both = rep_api.get(SUBMISSIONS, {"lead": lead.pk, "page": page.pk})
        assert [s["id"] for s in both.json()["results"]] == [mine.pk]
        assert len(rep_api.get(SUBMISSIONS, {"lead": lead.pk}).json()["results"]) == 2
        assert rep_api.get(f"{SUBMISSIONS}{mine.pk}/").json()["utm_source"] == "google"

    @pytest.mark.parametrize(("query", "field"), [({"lead": "x"}, "lead"), ({"page": "0"}, "page")])
    def test_it_names_a_bad_filter(
        self, rep_api: APIClient, query: dict[str, str], field: str
    ) -> None:
        response = rep_api.get(SUBMISSIONS, query)
        assert response.status_code == 400
        assert field in error(response)["fields"]

    def test_submissions_are_read_only(self, admin_api: APIClient) -> None:
        response = admin_api.post(SUBMISSIONS, {}, format="json")
        assert response.status_code == 405
        assert error(response)["code"] == "method_not_allowed"
