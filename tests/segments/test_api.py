"""/api/v1/segments/: Marketers write, Sales reps read; members with cursor paging."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from segments.models import Segment, SegmentMember
from segments.services import refresh_segment
from tests.api.conftest import error, marketer_api, marketer_user, rep, rep_api, token_client
from tests.factories import LeadFactory

__all__ = ["marketer_api", "marketer_user", "rep", "rep_api"]  # fixtures used by name
pytestmark = pytest.mark.django_db
HOT = {
    "match": "all",
    "conditions": [
        {"field": "temperature", "op": "is", "value": "hot"},
        {
            "match": "any",
            "conditions": [
                {"field": "score", "op": "at_least", "value": 40},
                {
                    "field": "activity",
                    "kind": "page_viewed",
                    "url": "*/pricing*",
                    "op": "at_least",
                    "count": 2,
                    "within_days": 14,
                },
            ],
        },
    ],
}


def test_a_marketer_creates_a_segment_and_it_fills(
    marketer_api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    hot = LeadFactory(temperature="hot", score=55)
    LeadFactory(temperature="hot", score=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_api.post(
            "/api/v1/segments/", {"name": "Hot and keen", "conditions": HOT}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Hot and keen" and body["conditions"] == HOT
    detail = marketer_api.get(f"/api/v1/segments/{body['id']}/").json()
    assert detail["member_count"] == 1
    members = marketer_api.get(f"/api/v1/segments/{body['id']}/members/").json()
    assert [m["lead"] for m in members["results"]] == [hot.pk]
    assert members["results"][0]["email"] == hot.email


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"field": "score"}, "The conditions are a group"),
        (
            {"match": "all", "conditions": [{"field": "score", "op": "at_least", "value": "x"}]},
            "Condition 1: A score is a whole number.",
        ),
        (
            {"match": "all", "conditions": [{"match": "any", "conditions": []}]},
            "Group 1: an empty group",
        ),
        (
            {
                "match": "all",
                "conditions": [
                    {
                        "match": "any",
                        "conditions": [{"field": "temperature", "op": "is", "value": "boiling"}],
                    }
                ],
            },
            "Condition 1.1: The temperature is one of hot, warm, cold.",
        ),
        (
            {
                "match": "all",
                "conditions": [
                    {"field": "activity", "kind": "page_viewed", "op": "at_least", "count": 0}
                ],
            },
            "Condition 1: The number of times",
        ),
        (
            {"match": "all", "conditions": [{"field": "segment", "value": 999999}]},
            "No segment with id 999999.",
        ),
        ({"match": "all", "conditions": [{"field": {"x": 1}}]}, "names its field"),
    ],
)
def test_a_tree_it_cannot_evaluate_is_refused_with_where_and_why(
    marketer_api: APIClient, conditions: Any, message: str
) -> None:
    response = marketer_api.post(
        "/api/v1/segments/", {"name": "Bad", "conditions": conditions}, format="json"
    )
    assert response.status_code == 400
    assert message in str(error(response)["fields"]["conditions"])
    assert not Segment.objects.exists()


def test_a_segment_cannot_include_itself(marketer_api: APIClient) -> None:
    first = Segment.objects.create(name="A", conditions={"match": "all", "conditions": []})
    second = Segment.objects.create(
        name="B",
        conditions={"match": "all", "conditions": [{"field": "segment", "value": first.pk}]},
    )
    response = marketer_api.patch(
        f"/api/v1/segments/{first.pk}/",
        {"conditions": {"match": "all", "conditions": [{"field": "segment", "value": second.pk}]}},
        format="json",
    )
    assert response.status_code == 400
    assert "cannot include itself" in str(error(response)["fields"])
    assert Segment.objects.get(pk=first.pk).conditions == {"match": "all", "conditions": []}


def test_a_rep_reads_but_does_not_write(rep_api: APIClient) -> None:
    segment = Segment.objects.create(name="Hot", conditions=HOT)
    assert rep_api.get("/api/v1/segments/").json()["results"][0]["name"] == "Hot"
    assert rep_api.get(f"/api/v1/segments/{segment.pk}/members/").status_code == 200
    response = rep_api.post("/api/v1/segments/", {"name": "Mine", "conditions": HOT}, format="json")
    assert response.status_code == 403
    assert rep_api.delete(f"/api/v1/segments/{segment.pk}/").status_code == 403
    assert token_client(None).get("/api/v1/segments/").status_code == 401


def test_members_page_by_cursor(rep_api: APIClient) -> None:
    segment = Segment.objects.create(
        name="Germany",
        conditions={
            "match": "all",
            "conditions": [{"field": "country", "op": "is", "value": "DE"}],
        },
    )
    leads = [LeadFactory(country="DE") for _ in range(5)]
    refresh_segment(segment_id=segment.pk)
    seen, url = [], f"/api/v1/segments/{segment.pk}/members/?page_size=2"
    while url:
        page = rep_api.get(url).json()
        assert len(page["results"]) <= 2
        seen += [member["lead"] for member in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(lead.pk for lead in leads) and len(seen) == 5
    assert SegmentMember.objects.count() == 5
    assert rep_api.get("/api/v1/segments/999999/members/").status_code == 404
