"""Tasks over the REST API: create, list with filters, complete; bad input."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, User

from leadfunnel.groups import SALES_REPS
from sales.models import LeadChange, RepProfile, Task
from tests.api.conftest import error, marketer, sales_rep, token_client
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def _rep(username: str, **profile: Any) -> User:
    user = sales_rep()
    user.username = username
    user.save(update_fields=["username"])
    RepProfile.objects.create(user=user, **profile)
    return user


@time_machine.travel(NOW, tick=False)
def test_it_creates_a_task_for_the_leads_owner() -> None:
    owner = _rep("rita")
    lead = LeadFactory(owner=owner)
    client = token_client(sales_rep())

    response = client.post(
        "/api/v1/tasks/",
        {
            "lead": lead.pk,
            "title": "Call back",
            "due_at": "2026-03-11T09:30:00+01:00",
            "note": "Asked about pricing",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    task = Task.objects.get()
    assert response.json() == {
        "id": task.pk,
        "lead": lead.pk,
        "owner": {"id": owner.pk, "username": "rita"},
        "title": "Call back",
        "note": "Asked about pricing",
        "due_at": "2026-03-11T08:30:00Z",
        "completed_at": None,
        "completed_by": None,
        "source": "manual",
        "source_ref": "",
        "created_at": "2026-03-10T20:00:00Z",
    }


def test_an_unowned_leads_task_goes_to_the_round_robin_pick() -> None:
    _rep("recent", last_assigned_at=NOW)
    waiting = _rep("waiting", last_assigned_at=NOW - timedelta(days=1))
    lead = LeadFactory()

    response = token_client(sales_rep()).post(
        "/api/v1/tasks/",
        {"lead": lead.pk, "title": "Call", "due_at": NOW.isoformat()},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["owner"] == {"id": waiting.pk, "username": "waiting"}
    lead.refresh_from_db()
    assert lead.owner == waiting


def test_nobody_to_pick_is_a_409_and_writes_nothing() -> None:
    lead = LeadFactory()  # no owner, and no rep takes round-robin leads
    response = token_client(sales_rep()).post(
        "/api/v1/tasks/",
        {"lead": lead.pk, "title": "Call", "due_at": NOW.isoformat()},
        format="json",
    )
    assert response.status_code == 409
    assert "no rep takes round-robin leads" in error(response)["message"]
    assert not Task.objects.exists() and not LeadChange.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Call", "due_at": "2026-03-11T09:00:00Z"}, "lead"),
        ({"lead": 10**12, "title": "Call", "due_at": "2026-03-11T09:00:00Z"}, "lead"),
        ({"lead": "{lead}", "title": "  ", "due_at": "2026-03-11T09:00:00Z"}, "title"),
        ({"lead": "{lead}", "title": "x" * 201, "due_at": "2026-03-11T09:00:00Z"}, "title"),
        ({"lead": "{lead}", "title": "Call", "due_at": "tomorrow"}, "due_at"),
        (
            {
                "lead": "{lead}",
                "title": "Call",
                "due_at": "2026-03-11T09:00:00Z",
                "note": "x" * 2001,
            },
            "note",
        ),
        (
            {
                "lead": "{lead}",
                "title": "Call",
                "due_at": "2026-03-11T09:00:00Z",
                "owner": "{marketer}",
            },
            "owner",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    body: dict[str, Any], field: str
) -> None:
    owner = _rep("rita")
    values = {"lead": LeadFactory(owner=owner).pk, "marketer": marketer().pk}
    body = {
        key: int(value.format(**values)) if value in ("{lead}", "{marketer}") else value
        for key, value in body.items()
    }

    response = token_client(sales_rep()).post("/api/v1/tasks/", body, format="json")

    assert response.status_code == 400
    fields = error(response)["fields"]
    assert list(fields) == [field], fields
    assert not Task.objects.exists()


def test_a_marketer_cannot_create_or_complete_a_task() -> None:
    rita = _rep("rita")
    lead = LeadFactory(owner=rita)
    task = Task.objects.create(lead=lead, owner=rita, title="Call", due_at=NOW)
    client = token_client(marketer())

    created = client.post(
        "/api/v1/tasks/",
        {"lead": lead.pk, "title": "Mine", "due_at": NOW.isoformat()},
        format="json",
    )
    completed = client.post(f"/api/v1/tasks/{task.pk}/complete/")

    assert (created.status_code, completed.status_code) == (403, 403)
    assert Task.objects.count() == 1 and Task.objects.get().completed_at is None
    assert client.get("/api/v1/tasks/").json()["results"][0]["title"] == "Call"  # reads


@time_machine.travel(NOW, tick=False)
def test_owner_me_open_and_due_before_filter_the_list_soonest_first() -> None:
    rita, sam = _rep("rita"), _rep("sam")
    lead = LeadFactory(owner=rita)

    def task(owner: User, title: str, due_at: datetime, **fields: Any) -> Task:
        return Task.objects.create(lead=lead, owner=owner, title=title, due_at=due_at, **fields)

    task(rita, "Tomorrow", NOW + timedelta(days=1))
    task(rita, "Overdue", NOW - timedelta(days=1))
    task(rita, "Tonight", NOW + timedelta(hours=2))
    task(rita, "Done", NOW - timedelta(hours=1), completed_at=NOW, completed_by=rita)
    task(sam, "Sam's", NOW)
    client = token_client(rita)

    response = client.get(
        "/api/v1/tasks/",
        {"owner": "me", "open": "true", "due_before": "2026-03-11T00:00:00Z"},
    )

    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["Overdue", "Tonight"]
    done = client.get("/api/v1/tasks/", {"open": "false"}).json()["results"]
    assert [row["title"] for row in done] == ["Done"]
    everyone = client.get("/api/v1/tasks/").json()["results"]
    assert [row["title"] for row in everyone] == ["Overdue", "Done", "Sam's", "Tonight", "Tomorrow"]
    bad = client.get("/api/v1/tasks/", {"owner": "sam", "due_before": "soon"})
    assert bad.status_code == 400
    assert set(error(bad)["fields"]) == {"owner", "due_before"}


@time_machine.travel(NOW, tick=False)
def test_completing_marks_it_done_once_and_only_for_its_owner() -> None:
    rita, sam = _rep("rita"), _rep("sam")
    task = Task.objects.create(lead=LeadFactory(), owner=rita, title="Call", due_at=NOW)

    refused = token_client(sam).post(f"/api/v1/tasks/{task.pk}/complete/")
    assert refused.status_code == 403
    assert error(refused)["message"] == "This is rita's task to complete."

    client = token_client(rita)
    first = client.post(f"/api/v1/tasks/{task.pk}/complete/")
    assert first.status_code == 200
    assert first.json()["completed_at"] == "2026-03-10T20:00:00Z"
    assert first.json()["completed_by"] == {"id": rita.pk, "username": "rita"}
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        again = client.post(f"/api/v1/tasks/{task.pk}/complete/")
    assert again.status_code == 200 and again.json()["completed_at"] == "2026-03-10T20:00:00Z"

    missing = client.post("/api/v1/tasks/999999/complete/")
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"


def test_the_schema_documents_the_task_endpoints() -> None:
    response = token_client(None).get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = response.json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tasks/"])
    assert paths["/api/v1/tasks/{id}/complete/"]["post"]["operationId"] == "tasks_complete"
    names = [p["name"] for p in paths["/api/v1/tasks/"]["get"]["parameters"]]
    assert {"owner", "open", "due_before"} <= set(names)


def test_the_sales_reps_group_holds_the_task_permissions() -> None:
    codenames = set(
        Group.objects.get(name=SALES_REPS).permissions.values_list("codename", flat=True)
    )
    assert {"view_task", "add_task", "change_task"} <= codenames
    assert "complete_any_task" not in codenames
