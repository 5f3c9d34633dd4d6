"""/api/v1/leads/{id}/stage|owner|notes|timeline/ and /api/v1/metrics/."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from capture.models import Activity, Lead
from nurture.models import Enrollment
from nurture.services.scheduling import enroll_lead
from sales.models import LeadChange, Note
from tests.api.conftest import error, sales_rep
from tests.factories import CampaignFactory, LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db


def url(lead: Lead, action: str) -> str:
    return f"/api/v1/leads/{lead.pk}/{action}/"


class TestStage:
    def test_it_moves_the_stage_and_ends_sequences_when_won(
        self, rep: User, rep_api: APIClient
    ) -> None:
        lead = LeadFactory()
        enroll_lead(lead=lead, sequence=playbook_sequence())
        response = rep_api.post(url(lead, "stage"), {"stage": "won"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["stage"] == "won"
        change = LeadChange.objects.get(lead=lead, field="stage")
        assert (change.actor, change.new_value) == (rep, "won")
        assert Enrollment.objects.get(lead=lead).state == Enrollment.State.EXITED

    def test_lost_needs_a_reason(self, rep_api: APIClient) -> None:
        lead = LeadFactory()
        response = rep_api.post(
            url(lead, "stage"), {"stage": "lost", "reason": "  "}, format="json"
        )
        assert response.status_code == 400
        assert error(response)["fields"] == {"reason": ["Say why the lead was lost."]}
        lead.refresh_from_db()
        assert lead.stage == "new"
        ok = rep_api.post(url(lead, "stage"), {"stage": "lost", "reason": "Chose a rival"})
        assert ok.status_code == 200

    @pytest.mark.parametrize("stage", ["", "new", "sideways"])
    def test_it_names_a_bad_stage(self, rep_api: APIClient, stage: str) -> None:
        response = rep_api.post(url(LeadFactory(), "stage"), {"stage": stage}, format="json")
        assert response.status_code == 400
        assert "stage" in error(response)["fields"]

    def test_the_same_stage_twice_is_a_409_from_the_service(self, rep_api: APIClient) -> None:
        lead = LeadFactory(stage="contacted")
        response = rep_api.post(url(lead, "stage"), {"stage": "contacted"}, format="json")
        assert response.status_code == 409
        assert error(response) == {"code": "conflict", "message": "The lead is already contacted."}

    def test_an_unknown_lead_is_a_404(self, rep_api: APIClient) -> None:
        response = rep_api.post("/api/v1/leads/987654/stage/", {"stage": "won"}, format="json")
        assert response.status_code == 404


class TestOwner:
    def test_null_claims_the_lead(self, rep: User, rep_api: APIClient) -> None:
        lead = LeadFactory()
        response = rep_api.post(url(lead, "owner"), {"owner": None}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["owner"] == rep.pk
        assert response.json()["owner_username"] == rep.username

    def test_it_reassigns_to_another_rep(self, rep: User, rep_api: APIClient) -> None:
        other = sales_rep()
        lead = LeadFactory(owner=rep)
        response = rep_api.post(
            url(lead, "owner"), {"owner": other.pk, "reason": "Speaks French"}, format="json"
        )
        assert response.status_code == 200, response.content
        lead.refresh_from_db()
        assert lead.owner == other
        assert LeadChange.objects.get(lead=lead, field="owner").reason == "Speaks French"

    def test_claiming_a_lead_someone_owns_is_a_409(self, rep_api: APIClient) -> None:
        lead = LeadFactory(owner=sales_rep())
        response = rep_api.post(url(lead, "owner"), {"owner": None}, format="json")
        assert response.status_code == 409
        assert "already owns" in error(response)["message"]

    @pytest.mark.parametrize("owner", ["me", 0, -1])
    def test_it_names_a_bad_owner(self, rep_api: APIClient, owner: Any) -> None:
        response = rep_api.post(url(LeadFactory(), "owner"), {"owner": owner}, format="json")
        assert response.status_code == 400
        assert "owner" in error(response)["fields"]

    def test_a_user_who_is_not_a_rep_is_refused_naming_owner(
        self, rep_api: APIClient, marketer_user: User
    ) -> None:
        response = rep_api.post(
            url(LeadFactory(), "owner"), {"owner": marketer_user.pk}, format="json"
        )
        assert response.status_code == 400
        assert "owner" in error(response)["fields"]

    def test_owner_is_required(self, rep_api: APIClient) -> None:
        response = rep_api.post(url(LeadFactory(), "owner"), {}, format="json")
        assert response.status_code == 400
        assert "owner" in error(response)["fields"]


class TestNotes:
    def test_it_adds_a_note_and_logs_a_call(self, rep: User, rep_api: APIClient) -> None:
        lead = LeadFactory()
        note = rep_api.post(url(lead, "notes"), {"body": "Asked for pricing"}, format="json")
        call = rep_api.post(
            url(lead, "notes"),
            {"body": "Called, booked a demo", "kind": "call", "outcome": "meeting_set"},
            format="json",
        )
        assert (note.status_code, call.status_code) == (201, 201)
        assert note.json()["kind"] == "note"
        assert call.json()["author"] == rep.username
        kinds = Note.objects.filter(lead=lead).order_by("id").values_list("kind", flat=True)
        assert list(kinds) == ["note", "call"]
        listed = rep_api.get(url(lead, "notes"))
        assert listed.status_code == 200
        assert [n["body"] for n in listed.json()["results"]] == [
            "Called, booked a demo",
            "Asked for pricing",
        ]

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"body": "   "}, "body"),
            ({}, "body"),
            ({"body": "x" * 5001}, "body"),
            ({"body": "hi", "kind": "email"}, "kind"),
        ],
    )
    def test_it_names_the_bad_field(
        self, rep_api: APIClient, data: dict[str, str], field: str
    ) -> None:
        lead = LeadFactory()
        response = rep_api.post(url(lead, "notes"), data, format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]
        assert not Note.objects.exists()


class TestTimeline:
    def test_it_merges_the_history_newest_first_up_to_the_limit(self, rep_api: APIClient) -> None:
        lead = LeadFactory()
        base = datetime(2026, 11, 1, 9, tzinfo=UTC)
        for minutes in range(5):
            Activity.objects.create(
                lead=lead,
                kind="page_viewed",
                occurred_at=base + timedelta(minutes=minutes),
                metadata={"url": f"https://example.com/{minutes}"},
            )
        with time_machine.travel(base + timedelta(hours=1)):
            rep_api.post(url(lead, "notes"), {"body": "Keen"}, format="json")
        response = rep_api.get(url(lead, "timeline"), {"limit": 3})
        assert response.status_code == 200
        entries = response.json()["results"]
        assert [e["kind"] for e in entries] == ["note", "activity", "activity"]
        # In a rep's words: the page in the title, where the visit came from in the detail.
        assert (entries[1]["title"], entries[1]["detail"]) == ("Viewed /4", "")
        assert len(rep_api.get(url(lead, "timeline")).json()["results"]) == 6

    @pytest.mark.parametrize("limit", ["0", "201", "many"])
    def test_it_names_a_bad_limit(self, rep_api: APIClient, limit: str) -> None:
        response = rep_api.get(url(LeadFactory(), "timeline"), {"limit": limit})
        assert response.status_code == 400
        assert "limit" in error(response)["fields"]


class TestMetrics:
    def test_it_reports_the_funnel_for_local_days(self, rep_api: APIClient) -> None:
        campaign = CampaignFactory(name="Spring", spend="100.00")
        inside = [LeadFactory(campaign=campaign, source="google") for _ in range(2)]
        outside = LeadFactory()
        # 23:30 UTC on 31 Oct is 1 Nov in Paris; 23:30 UTC on 2 Nov is 3 Nov there.
        Lead.objects.filter(pk=inside[0].pk).update(
            created_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC), stage="won"
        )
        Lead.objects.filter(pk=inside[1].pk).update(created_at=datetime(2026, 11, 2, 9, tzinfo=UTC))
        Lead.objects.filter(pk=outside.pk).update(
            created_at=datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
        )
        response = rep_api.get(
            "/api/v1/metrics/", {"start": "2026-11-01", "end": "2026-11-02", "tz": "Europe/Paris"}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["time_zone"] == "Europe/Paris"
        assert body["total"]["leads"] == 2
        assert body["total"]["won"] == 1
        assert body["funnel"][0] == {"label": "Captured", "leads": 2}
        spring = next(row for row in body["campaigns"] if row["label"] == "Spring")
        assert (spring["spend"], spring["cost_per_lead"]) == ("100.00", "50.00")
        assert body["daily"]["days"] == ["2026-11-01", "2026-11-02"]
        assert body["start"] == "2026-10-31T23:00:00Z"  # midnight in Paris, in UTC

    def test_it_has_defaults(self, rep_api: APIClient) -> None:
        response = rep_api.get("/api/v1/metrics/")
        assert response.status_code == 200
        assert len(response.json()["daily"]["days"]) == 30

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "01/11/2026"}, "start"),
            ({"end": "2026-13-01"}, "end"),
            ({"tz": "Europe/Atlantis"}, "tz"),
            ({"tz": "../../etc/passwd"}, "tz"),
            ({"start": "2026-11-02", "end": "2026-11-01"}, "end"),
            ({"start": "2020-01-01", "end": "2026-11-01"}, "end"),
            ({"start": "0001-01-01", "end": "0001-01-02"}, "start"),
            ({"start": "9999-12-30", "end": "9999-12-31"}, "start"),
        ],
    )
    def test_it_names_the_bad_parameter(
        self, rep_api: APIClient, query: dict[str, str], field: str
    ) -> None:
        response = rep_api.get("/api/v1/metrics/", query)
        assert response.status_code == 400
        assert field in error(response)["fields"]
