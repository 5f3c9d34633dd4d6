"""/api/v1/leads/: the dashboard's list over the API, one lead, creating and editing."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from capture.models import Lead
from scoring.services import score_lead
from tests.api.conftest import error
from tests.factories import CampaignFactory, FitRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"


def lead(
    *, temperature: str = "cold", score: int = 0, at: datetime | None = None, **kw: Any
) -> Lead:
    made = LeadFactory(**kw)
    at = at or datetime(2026, 11, 1, 12, tzinfo=UTC)
    Lead.objects.filter(pk=made.pk).update(
        temperature=temperature, score=score, last_activity_at=at
    )
    made.refresh_from_db()
    return made


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


class TestList:
    def test_it_lists_hot_then_warm_then_cold_by_score_then_latest_activity(
        self, rep_api: APIClient
    ) -> None:
        early, late = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
        cold = lead(temperature="cold", score=90)
        warm = lead(temperature="warm", score=40)
        hot_low = lead(temperature="hot", score=70)
        hot_old = lead(temperature="hot", score=80, at=early)
        hot_new = lead(temperature="hot", score=80, at=late)
        response = rep_api.get(LEADS)
        assert ids(response) == [hot_new.pk, hot_old.pk, hot_low.pk, warm.pk, cold.pk]
        assert response.json()["next"] is None
        row = response.json()["results"][0]
        assert row["email"] == hot_new.email
        assert row["temperature"] == "hot"
        assert row["last_activity"] == "captured"

    def test_it_filters_as_the_dashboard_does(self, rep: User, rep_api: APIClient) -> None:
        campaign = CampaignFactory()
        mine = lead(temperature="hot", owner=rep, company="Initech")
        unowned = lead(temperature="warm", source="google", campaign=campaign, stage="contacted")
        assert ids(rep_api.get(LEADS, {"owner": "mine"})) == [mine.pk]
        assert ids(rep_api.get(LEADS, {"owner": "unassigned"})) == [unowned.pk]
        assert ids(rep_api.get(LEADS, {"temperature": "warm"})) == [unowned.pk]
        assert ids(rep_api.get(LEADS, {"stage": "contacted"})) == [unowned.pk]
        assert ids(rep_api.get(LEADS, {"campaign": campaign.pk})) == [unowned.pk]
        assert ids(rep_api.get(LEADS, {"source": "google"})) == [unowned.pk]
        assert ids(rep_api.get(LEADS, {"search": "initech"})) == [mine.pk]

    def test_it_filters_by_creation_time(self, rep_api: APIClient) -> None:
        old, new = lead(), lead()
        Lead.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        Lead.objects.filter(pk=new.pk).update(created_at=datetime(2026, 6, 1, tzinfo=UTC))
        assert ids(rep_api.get(LEADS, {"created_from": "2026-03-01T00:00:00Z"})) == [new.pk]
        assert ids(rep_api.get(LEADS, {"created_before": "2026-03-01T00:00:00Z"})) == [old.pk]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"temperature": "boiling"}, "temperature"),
            ({"stage": "nowhere"}, "stage"),
            ({"owner": "theirs"}, "owner"),
            ({"campaign": "x"}, "campaign"),
            ({"created_from": "yesterday"}, "created_from"),
            ({"created_from": "2026-02-01", "created_before": "2026-01-01"}, "created_before"),
            ({"page_size": "0"}, "page_size"),
            ({"page_size": "100000"}, "page_size"),
            ({"cursor": "not a cursor!"}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b"hot.1.2").decode()}, "cursor"),
            (
                {"cursor": base64.urlsafe_b64encode(b"hot.1.2.99999999999999999999").decode()},
                "cursor",
            ),
        ],
    )
    def test_it_names_the_bad_parameter(
        self, rep_api: APIClient, query: dict[str, str], field: str
    ) -> None:
        response = rep_api.get(LEADS, query)
        assert response.status_code == 400
        body = error(response)
        assert body["code"] == "invalid"
        assert field in body["fields"]

    def test_it_pages_with_an_opaque_cursor_in_a_full_next_url(self, rep_api: APIClient) -> None:
        made = [lead(temperature="warm", score=score) for score in (50, 40, 30, 20, 10)]
        first = rep_api.get(LEADS, {"page_size": 2, "temperature": "warm"})
        assert ids(first) == [made[0].pk, made[1].pk]
        next_url = first.json()["next"]
        assert next_url.startswith("http://testserver/api/v1/leads/?")
        assert "temperature=warm" in next_url
        assert "cursor=" in next_url and "warm." not in next_url  # opaque, not the raw key
        second = rep_api.get(next_url)
        assert ids(second) == [made[2].pk, made[3].pk]
        third = rep_api.get(second.json()["next"])
        assert ids(third) == [made[4].pk]
        assert third.json()["next"] is None

    def test_pages_stay_stable_while_leads_arrive(self, rep_api: APIClient) -> None:
        """Leads inserted between fetches, before and after the cursor: none of the leads
        that existed is shown twice or skipped."""
        scored = [("hot", 90), ("hot", 60), ("warm", 50), ("warm", 45), ("warm", 40)]
        scored += [("cold", 30), ("cold", 20), ("cold", 10)]
        existing = {lead(temperature=t, score=s).pk for t, s in scored}
        seen: list[int] = []
        response = rep_api.get(LEADS, {"page_size": 3})
        seen += ids(response)
        new_scores = iter([("hot", 99), ("warm", 44), ("cold", 5), ("hot", 95), ("cold", 25)])
        while response.json()["next"]:
            temperature, score = next(new_scores, ("cold", 1))
            lead(temperature=temperature, score=score)  # a new lead arrives meanwhile
            lead(temperature="hot", score=100)  # and one ahead of every page
            response = rep_api.get(response.json()["next"])
            seen += ids(response)
        assert len(seen) == len(set(seen)), "a lead was shown twice"
        assert existing <= set(seen), "a lead that existed was skipped"


class TestRetrieve:
    def test_it_shows_the_lead_with_its_score_reasons(self, rep_api: APIClient) -> None:
        FitRuleFactory(name="Directors", points=15)
        made = LeadFactory(job_title="Marketing Director", consent_text="Yes, email me")
        score_lead(lead_id=made.pk)
        response = rep_api.get(f"{LEADS}{made.pk}/")
        assert response.status_code == 200
        body = response.json()
        assert body["email"] == made.email
        assert body["score"] == 15
        assert body["consent_text"] == "Yes, email me"
        assert body["score_reasons"][0]["points"] == 15
        assert body["score_reasons"][0]["text"] == "Directors +15"

    def test_an_unknown_lead_is_a_json_404(self, rep_api: APIClient) -> None:
        response = rep_api.get(f"{LEADS}999999/")
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"


class TestUpdate:
    def test_it_changes_contact_fields_and_rescores(
        self, rep_api: APIClient, django_capture_on_commit_callbacks: Any
    ) -> None:
        FitRuleFactory(points=15)
        made = LeadFactory(job_title="Intern")
        with django_capture_on_commit_callbacks(execute=True):
            response = rep_api.patch(
                f"{LEADS}{made.pk}/",
                {"job_title": "Director of Sales", "phone": "+33 1 23 45 67 89", "country": "FR"},
                format="json",
            )
        assert response.status_code == 200, response.content
        made.refresh_from_db()
        assert (made.job_title, made.phone, made.country.code) == (
            "Director of Sales",
            "+33123456789",
            "FR",
        )
        assert made.score == 15  # rescored once the edit committed
        assert response.json()["job_title"] == "Director of Sales"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"company_size": "huge"}, "company_size"),
            ({"time_zone": "Mars/Olympus"}, "time_zone"),
            ({"country": "XX"}, "country"),
            ({"first_name": "x" * 101}, "first_name"),
        ],
    )
    def test_it_refuses_bad_values_naming_the_field(
        self, rep_api: APIClient, data: dict[str, str], field: str
    ) -> None:
        made = LeadFactory(first_name="Ada")
        response = rep_api.patch(f"{LEADS}{made.pk}/", data, format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]
        made.refresh_from_db()
        assert made.first_name == "Ada"

    def test_the_email_and_score_are_not_editable(self, rep_api: APIClient) -> None:
        made = LeadFactory(email="ada@example.com")
        rep_api.patch(f"{LEADS}{made.pk}/", {"email": "x@example.com", "score": 99}, format="json")
        made.refresh_from_db()
        assert (made.email, made.score) == ("ada@example.com", 0)


class TestCreate:
    def test_a_marketer_creates_a_lead_with_a_normalised_email(
        self, marketer_api: APIClient
    ) -> None:
        campaign = CampaignFactory()
        response = marketer_api.post(
            LEADS,
            {
                "email": "  Grace@Example.COM ",
                "first_name": "Grace",
                "campaign": campaign.pk,
                "source": "partner-site",
                "consent_text": "I agree",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        created = Lead.objects.get(pk=response.json()["id"])
        assert created.email == "grace@example.com"
        assert created.campaign == campaign
        assert created.stage == "new"
        assert created.consent_given_at is not None
        assert response.json()["email"] == "grace@example.com"

    def test_a_duplicate_email_is_a_409(self, marketer_api: APIClient) -> None:
        LeadFactory(email="grace@example.com")
        response = marketer_api.post(LEADS, {"email": "GRACE@example.com"}, format="json")
        assert response.status_code == 409
        assert error(response)["code"] == "duplicate_email"
        assert Lead.objects.count() == 1

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({}, "email"),
            ({"email": "not-an-email"}, "email"),
            ({"email": "a@example.com", "campaign": 999999}, "campaign"),
            ({"email": "a@example.com", "company_size": "huge"}, "company_size"),
        ],
    )
    def test_it_names_the_bad_field(
        self, marketer_api: APIClient, data: dict[str, Any], field: str
    ) -> None:
        response = marketer_api.post(LEADS, data, format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]
        assert not Lead.objects.exists()

    def test_a_sales_rep_may_not_create_leads(self, rep_api: APIClient) -> None:
        response = rep_api.post(LEADS, {"email": "a@example.com"}, format="json")
        assert response.status_code == 403
        assert error(response)["code"] == "permission_denied"


def test_created_from_without_zone_is_utc(rep_api: APIClient) -> None:
    made = lead()
    Lead.objects.filter(pk=made.pk).update(
        created_at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC) - timedelta(hours=1)
    )
    assert ids(rep_api.get(LEADS, {"created_from": "2026-03-01T00:00:00"})) == []
