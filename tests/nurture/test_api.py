"""/api/v1/sequences/, steps/ and enrollments/."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from nurture.models import Delivery, Enrollment, Sequence, Step
from nurture.services.scheduling import enroll_lead
from tests.api.conftest import error
from tests.factories import (
    LandingPageFactory,
    LeadFactory,
    SequenceFactory,
    StepFactory,
    playbook_sequence,
)

pytestmark = pytest.mark.django_db

SEQUENCES, STEPS, ENROLLMENTS = "/api/v1/sequences/", "/api/v1/steps/", "/api/v1/enrollments/"


def step_data(sequence: Sequence, **overrides: Any) -> dict[str, Any]:
    return {
        "sequence": sequence.pk,
        "day": 4,
        "subject": "Hi {{ first_name }}",
        "body": "Read [this](https://example.com).",
        **overrides,
    }


class TestSequences:
    def test_both_groups_read_sequences_with_their_steps_nested(self, rep_api: APIClient) -> None:
        sequence = playbook_sequence()
        response = rep_api.get(f"{SEQUENCES}{sequence.pk}/")
        assert response.status_code == 200
        assert [s["day"] for s in response.json()["steps"]] == [1, 2, 3, 5, 7]
        assert rep_api.get(SEQUENCES).json()["results"][0]["id"] == sequence.pk

    def test_a_marketer_creates_and_edits_a_sequence(self, marketer_api: APIClient) -> None:
        page = LandingPageFactory()
        response = marketer_api.post(
            SEQUENCES,
            {
                "name": "Onboarding",
                "entry_pages": [page.pk],
                "weekdays": [4, 0, 0],
                "window_start_hour": 8,
                "window_end_hour": 18,
                "fallback_time_zone": "Europe/Paris",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        sequence = Sequence.objects.get()
        assert sequence.weekdays == [0, 4]
        assert list(sequence.entry_pages.all()) == [page]
        patched = marketer_api.patch(
            f"{SEQUENCES}{sequence.pk}/", {"status": "paused"}, format="json"
        )
        assert patched.json()["status"] == "paused"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"weekdays": []}, "weekdays"),
            ({"weekdays": [7]}, "weekdays[0]"),
            ({"window_start_hour": 18, "window_end_hour": 9}, "window_end_hour"),
            ({"window_end_hour": 25}, "window_end_hour"),
            ({"fallback_time_zone": "Paris"}, "fallback_time_zone"),
            ({"status": "deleted"}, "status"),
            ({"name": ""}, "name"),
            ({"entry_pages": [999999]}, "entry_pages"),
        ],
    )
    def test_it_validates_as_the_admin_does(
        self, marketer_api: APIClient, data: dict[str, Any], field: str
    ) -> None:
        response = marketer_api.post(SEQUENCES, {"name": "Onboarding", **data}, format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]
        assert not Sequence.objects.exists()

    def test_a_sales_rep_may_not_write(self, rep_api: APIClient) -> None:
        assert rep_api.post(SEQUENCES, {"name": "x"}, format="json").status_code == 403
        step = StepFactory()
        assert rep_api.patch(f"{STEPS}{step.pk}/", {"subject": "x"}).status_code == 403


class TestSteps:
    def test_a_new_step_reaches_live_enrollments(self, marketer_api: APIClient) -> None:
        sequence = playbook_sequence()
        enrollment = enroll_lead(lead=LeadFactory(), sequence=sequence)
        response = marketer_api.post(STEPS, step_data(sequence), format="json")
        assert response.status_code == 201, response.content
        step = Step.objects.get(pk=response.json()["id"])
        assert Delivery.objects.filter(enrollment=enrollment, step=step).exists()

    def test_switching_a_step_off_cancels_its_pending_emails(self, marketer_api: APIClient) -> None:
        sequence = playbook_sequence()
        enroll_lead(lead=LeadFactory(), sequence=sequence)
        step = sequence.steps.get(day=5)
        response = marketer_api.patch(f"{STEPS}{step.pk}/", {"is_active": False}, format="json")
        assert response.status_code == 200
        assert Delivery.objects.get(step=step).status == Delivery.Status.CANCELLED

    def test_a_sent_step_is_switched_off_instead_of_deleted(self, marketer_api: APIClient) -> None:
        sequence = playbook_sequence()
        enroll_lead(lead=LeadFactory(), sequence=sequence)
        sent, unsent = sequence.steps.get(day=1), sequence.steps.get(day=7)
        Delivery.objects.filter(step=sent).update(status=Delivery.Status.SENT)
        kept = marketer_api.delete(f"{STEPS}{sent.pk}/")
        assert kept.status_code == 200
        assert kept.json()["is_active"] is False
        assert marketer_api.delete(f"{STEPS}{unsent.pk}/").status_code == 204
        assert not Step.objects.filter(pk=unsent.pk).exists()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"subject": "Hi {{ lead.delete }}"}, "subject"),
            ({"body": "{% load secrets %}"}, "body"),
            ({"cta_label": "Book"}, "cta_url"),
            ({"cta_label": "Book", "cta_url": "ftp://example.com"}, "cta_url"),
            ({"day": 0}, "day"),
            ({"only_temperatures": ["lukewarm"]}, "only_temperatures[0]"),
            ({"click_condition": "maybe"}, "click_condition"),
        ],
    )
    def test_it_validates_as_the_admin_does(
        self, marketer_api: APIClient, overrides: dict[str, Any], field: str
    ) -> None:
        sequence = SequenceFactory()
        response = marketer_api.post(STEPS, step_data(sequence, **overrides), format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]

    def test_two_steps_on_one_day_is_a_409(self, marketer_api: APIClient) -> None:
        step = StepFactory(day=4)
        response = marketer_api.post(STEPS, step_data(step.sequence), format="json")
        assert response.status_code == 409
        assert Step.objects.count() == 1

    def test_steps_are_listed_by_sequence(self, rep_api: APIClient) -> None:
        step, _other = StepFactory(), StepFactory()
        listed = rep_api.get(STEPS, {"sequence": step.sequence_id}).json()["results"]
        assert [s["id"] for s in listed] == [step.pk]


class TestEnrollments:
    def test_a_marketer_enrolls_a_lead(self, marketer_api: APIClient) -> None:
        lead, sequence = LeadFactory(), playbook_sequence()
        response = marketer_api.post(
            ENROLLMENTS, {"lead": lead.pk, "sequence": sequence.pk}, format="json"
        )
        assert response.status_code == 201, response.content
        enrollment = Enrollment.objects.get(lead=lead)
        assert response.json()["id"] == enrollment.pk
        assert enrollment.deliveries.count() == 5

    def test_enrolling_twice_is_a_409(self, marketer_api: APIClient) -> None:
        lead, sequence = LeadFactory(), playbook_sequence()
        enroll_lead(lead=lead, sequence=sequence)
        response = marketer_api.post(
            ENROLLMENTS, {"lead": lead.pk, "sequence": sequence.pk}, format="json"
        )
        assert response.status_code == 409
        assert error(response)["code"] == "already_enrolled"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"sequence": "own"}, "lead"),
            ({"lead": 999999}, "lead"),
            ({"lead": "x"}, "lead"),
            ({"sequence": 999999}, "sequence"),
        ],
    )
    def test_it_names_the_bad_field(
        self, marketer_api: APIClient, data: dict[str, Any], field: str
    ) -> None:
        lead, sequence = LeadFactory(), SequenceFactory()
        body = {"lead": lead.pk, "sequence": sequence.pk, **data}
        if data.get("sequence") == "own":
            body = {"sequence": sequence.pk}
        response = marketer_api.post(ENROLLMENTS, body, format="json")
        assert response.status_code == 400
        assert field in error(response)["fields"]

    def test_a_sales_rep_may_not_enroll(self, rep_api: APIClient) -> None:
        lead, sequence = LeadFactory(), SequenceFactory()
        response = rep_api.post(
            ENROLLMENTS, {"lead": lead.pk, "sequence": sequence.pk}, format="json"
        )
        assert response.status_code == 403

    def test_exit_stops_the_enrollment_and_a_second_exit_is_a_409(self, rep_api: APIClient) -> None:
        enrollment = enroll_lead(lead=LeadFactory(), sequence=playbook_sequence())
        assert enrollment is not None
        response = rep_api.post(f"{ENROLLMENTS}{enrollment.pk}/exit/")
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "exited"
        assert response.json()["exit_reason"] == "manual"
        assert not enrollment.deliveries.filter(status=Delivery.Status.SCHEDULED).exists()
        again = rep_api.post(f"{ENROLLMENTS}{enrollment.pk}/exit/")
        assert again.status_code == 409
        assert error(again)["code"] == "not_active"
        assert rep_api.post(f"{ENROLLMENTS}999999/exit/").status_code == 404

    def test_it_lists_enrollments_by_lead(self, rep_api: APIClient) -> None:
        lead = LeadFactory()
        mine = enroll_lead(lead=lead, sequence=SequenceFactory())
        enroll_lead(lead=LeadFactory(), sequence=SequenceFactory())
        listed = rep_api.get(ENROLLMENTS, {"lead": lead.pk})
        assert [e["id"] for e in listed.json()["results"]] == [mine.pk]
        bad = rep_api.get(ENROLLMENTS, {"lead": "someone"})
        assert bad.status_code == 400
        assert "lead" in error(bad)["fields"]
