"""Journeys over the REST API: the whole graph in one POST, nodes, arrows, triggers, manual
enrollment, enrollments by journey and each lead's path; bad input is a 400 naming the field,
with nothing written."""

from typing import Any

import pytest
import yaml
from django.core.management import call_command

from capture.models import Lead
from nurture.models import Edge, Enrollment, Journey, Node, Sequence, Step, Trigger
from tests.api.conftest import error, marketer, sales_rep, token_client
from tests.factories import LeadFactory
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db

GRAPH = {
    "name": "Pricing follow-up",
    "window_start_hour": 9,
    "window_end_hour": 17,
    "reentry": "every_n_days",
    "reentry_days": 30,
    "nodes": [
        {
            "key": "hello",
            "kind": "email",
            "name": "Hello",
            "email": {
                "subject": "Hi {{ first_name }}",
                "body": "Thanks for looking.",
                "transactional": True,
            },
        },
        {"key": "wait", "kind": "wait", "config": {"amount": 2, "unit": "business_days"}},
        {
            "key": "hot",
            "kind": "branch",
            "name": "Hot?",
            "config": {
                "conditions": [
                    {"when": {"field": "temperature", "op": "is", "value": "hot"}, "label": "hot"}
                ]
            },
        },
        {"key": "call", "kind": "task", "name": "Call", "config": {"title": "Call them"}},
        {"key": "goal", "kind": "goal", "name": "Booked", "config": {"event": "booked"}},
    ],
    "edges": [
        {"source": "hello", "target": "wait"},
        {"source": "wait", "target": "hot"},
        {"source": "hot", "port": "c0", "target": "call"},
        {"source": "hot", "port": "else", "target": "goal"},
    ],
    "start": "hello",
    "triggers": [
        {"kind": "page_view", "config": {"url": "*/pricing*", "count": 2, "within_days": 7}}
    ],
}


def _nothing_written() -> None:
    assert (
        Journey.objects.count(),
        Node.objects.count(),
        Step.objects.count(),
        Edge.objects.count(),
        Trigger.objects.count(),
    ) == (0, 0, 0, 0, 0)


def _graph(**changes: Any) -> dict[str, Any]:
    return {**GRAPH, **changes}


def test_a_marketer_creates_a_whole_journey_in_one_request() -> None:
    response = token_client(marketer()).post("/api/v1/journeys/", GRAPH, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    journey = Journey.objects.get()
    assert body["id"] == journey.pk and body["status"] == "paused"
    assert body["reentry"] == "every_n_days"
    names = {node["name"] or node["kind"]: node for node in body["nodes"]}
    assert names["Hello"]["email"]["subject"] == "Hi {{ first_name }}"
    assert names["Hot?"]["config"]["conditions"][0]["label"] == "hot"
    assert body["start_node"] == names["Hello"]["id"]
    ports = {(edge["source"], edge["port"], edge["target"]) for edge in body["edges"]}
    assert (names["Hot?"]["id"], "c0", names["Call"]["id"]) in ports
    assert body["triggers"][0]["kind"] == "page_view"
    # Not asked for, and on: a lead sales has gets no more email from a new journey.
    assert body["hand_hot_leads_to_sales"] is True
    # Read back, listed and fetched.
    client = token_client(sales_rep())
    assert client.get(f"/api/v1/journeys/{journey.pk}/").json()["name"] == "Pricing follow-up"
    assert [j["id"] for j in client.get("/api/v1/journeys/").json()["results"]] == [journey.pk]


def test_publishing_on_create_goes_live_when_the_journey_can() -> None:
    response = token_client(marketer()).post(
        "/api/v1/journeys/", _graph(status="active"), format="json"
    )
    assert response.status_code == 201, response.json()
    assert Journey.objects.get().status == Sequence.Status.ACTIVE


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {
                "nodes": [
                    {**GRAPH["nodes"][0]},
                    {"key": "wait", "kind": "wait", "config": {"amount": 2, "unit": "fortnights"}},
                ],
                "edges": [],
                "start": "hello",
            },
            "nodes[1].config",
            "the unit is one of hours, days, business_days",
        ),
        (
            {
                "nodes": [
                    {
                        "key": "b",
                        "kind": "branch",
                        "config": {
                            "conditions": [{"when": {"field": "shoe_size", "op": "is", "value": 9}}]
                        },
                    }
                ],
                "edges": [],
                "start": "b",
            },
            "nodes[0].config",
            "conditions[0]: Unknown condition field 'shoe_size'.",
        ),
        (
            {
                "nodes": [
                    {
                        "key": "e",
                        "kind": "email",
                        "email": {"subject": "Hi {{ shoe }}", "body": "x"},
                    }
                ],
                "edges": [],
                "start": "e",
            },
            "nodes[0].email.subject",
            "Unknown merge field",
        ),
        (
            {"nodes": [{"key": "e", "kind": "email"}], "edges": [], "start": "e"},
            "nodes[0].email",
            "An email node needs its email",
        ),
        (
            {"edges": [{"source": "hello", "port": "yes", "target": "wait"}]},
            "edges[0]",
            "“hello” has the ports next.",
        ),
        (
            {"edges": [{"source": "hello", "target": "nowhere"}]},
            "edges[0]",
            "source and target are keys of nodes",
        ),
        ({"start": "missing"}, "start", "The start is the key of one of the nodes."),
        ({"window_start_hour": 18}, "window_end_hour", "The latest hour must come after"),
        ({"reentry_days": 0}, "reentry_days", "Enter at least 1 day."),
        (
            {"triggers": [{"kind": "custom_event", "config": {}}]},
            "triggers[0].config",
            "name: give the event's name.",
        ),
        (
            {
                "nodes": [{"key": "s", "kind": "split", "config": {"variants": [{"weight": 50}]}}],
                "edges": [],
                "start": "s",
            },
            "nodes[0].config",
            "variants is a list of 2 to 4",
        ),
        # Published at once, but a branch's "hot" arrow leads nowhere.
        ({"status": "active", "edges": GRAPH["edges"][:2]}, "status", "“hot” leads nowhere"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    change: dict[str, Any], field: str, message: str
) -> None:
    response = token_client(marketer()).post("/api/v1/journeys/", _graph(**change), format="json")

    assert response.status_code == 400
    body = error(response)
    assert field in body["fields"], body
    assert any(message in text for text in body["fields"][field]), body
    _nothing_written()


def test_a_sales_rep_reads_journeys_but_may_not_create_one(
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(5):
        playbook(name=f"Journey {n}")
    client = token_client(sales_rep())
    with django_assert_max_num_queries(12):  # the same few queries for 5 journeys as for 1
        listed = client.get("/api/v1/journeys/")
    assert listed.status_code == 200
    assert [len(j["edges"]) for j in listed.json()["results"]] == [9] * 5
    assert client.post("/api/v1/journeys/", GRAPH, format="json").status_code == 403
    assert token_client(None).get("/api/v1/journeys/").status_code == 401


def test_nodes_edges_and_triggers_are_edited_one_by_one() -> None:
    journey = playbook()
    client = token_client(marketer())
    base = f"/api/v1/journeys/{journey.pk}"
    nodes = client.get(f"{base}/nodes/").json()
    assert len(nodes) == journey.nodes.count()

    made = client.post(
        f"{base}/nodes/",
        {"kind": "sms", "name": "Text", "config": {"body": "See you {{ first_name }}"}},
        format="json",
    )
    assert made.status_code == 201, made.json()
    sms = made.json()["id"]
    bad = client.patch(f"{base}/nodes/{sms}/", {"config": {"body": " "}}, format="json")
    assert bad.status_code == 400
    assert error(bad)["fields"]["config"] == ["An SMS node needs its text (body)."]
    assert Node.objects.get(pk=sms).config["body"] == "See you {{ first_name }}"
    renamed = client.patch(f"{base}/nodes/{sms}/", {"name": "SMS"}, format="json")
    assert renamed.json()["name"] == "SMS"
    day2 = journey.nodes.get(name="Three ways to grow")
    subject = client.patch(
        f"{base}/nodes/{day2.pk}/", {"email": {"subject": "Four ways"}}, format="json"
    )
    assert subject.status_code == 200, subject.json()
    assert subject.json()["email"]["subject"] == "Four ways"
    assert Step.objects.get(node=day2).body.startswith("Hello {{ first_name }}")
    merge = client.patch(
        f"{base}/nodes/{day2.pk}/", {"email": {"body": "Hi {{ nope }}"}}, format="json"
    )
    assert "Unknown merge field nope." in error(merge)["fields"]["email.body"][0]
    kind = client.patch(f"{base}/nodes/{sms}/", {"kind": "email"}, format="json")
    assert error(kind)["fields"]["kind"] == ["A node keeps its kind: add a new node instead."]

    goal = journey.nodes.get(kind=Node.Kind.GOAL)
    edge = client.post(
        f"{base}/edges/", {"source": sms, "port": "next", "target": goal.pk}, format="json"
    )
    assert edge.status_code == 201, edge.json()
    loop = client.post(
        f"{base}/edges/", {"source": sms, "port": "next", "target": sms}, format="json"
    )
    assert error(loop)["fields"]["target"] == ["An arrow leads to another node."]
    other = playbook(name="Other")
    foreign = client.post(
        f"{base}/edges/",
        {"source": sms, "target": other.start_node_id, "port": "next"},
        format="json",
    )
    assert "target" in error(foreign)["fields"]
    assert client.delete(f"{base}/edges/{edge.json()['id']}/").status_code == 204
    assert not Edge.objects.filter(source_id=sms).exists()

    trigger = client.post(
        f"{base}/triggers/",
        {"kind": "temperature", "config": {"temperature": "boiling"}},
        format="json",
    )
    assert error(trigger)["fields"]["config"] == ["temperature is hot, warm or cold."]
    trigger = client.post(
        f"{base}/triggers/",
        {"kind": "temperature", "config": {"temperature": "hot"}},
        format="json",
    )
    assert trigger.status_code == 201
    assert client.delete(f"{base}/triggers/{trigger.json()['id']}/").status_code == 204

    removed = client.delete(f"{base}/nodes/{sms}/")
    assert removed.status_code == 200 and removed.json() == {"moved": 0}
    assert not Node.objects.filter(pk=sms).exists()
    assert client.get(f"/api/v1/journeys/{other.pk}/nodes/{sms}/").status_code == 404


def test_publishing_and_pausing_through_patch() -> None:
    journey = playbook(status=Sequence.Status.PAUSED)
    client = token_client(marketer())
    live = client.patch(f"/api/v1/journeys/{journey.pk}/", {"status": "active"}, format="json")
    assert live.status_code == 200 and live.json()["status"] == "active"
    url = f"/api/v1/journeys/{journey.pk}/"
    paused = client.patch(url, {"status": "paused", "name": "Renamed"}, format="json")
    assert paused.json()["status"] == "paused" and paused.json()["name"] == "Renamed"
    Node.objects.filter(pk=journey.start_node_id).update(name="")
    Step.objects.filter(node__pk=journey.start_node_id).update(subject="")
    refused = client.patch(url, {"status": "active", "name": "Again"}, format="json")
    assert refused.status_code == 400
    assert "needs a subject and a body" in " ".join(error(refused)["fields"]["status"])
    journey.refresh_from_db()
    assert (journey.status, journey.name) == ("paused", "Renamed")  # nothing half-written
    other_start = playbook(name="Other").start_node_id
    foreign = client.patch(url, {"start_node": other_start}, format="json")
    assert "start_node" in error(foreign)["fields"]


def test_manual_enrollment_by_email_then_the_path_by_enrollment(
    django_capture_on_commit_callbacks: Any,
) -> None:
    journey = playbook()
    lead = LeadFactory(email="ada@example.com", time_zone="UTC")
    client = token_client(marketer())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/journeys/{journey.pk}/enroll/", {"email": "ADA@example.com"}, format="json"
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["lead"], body["journey"], body["state"]) == (lead.pk, journey.pk, "active")
    assert body["trigger"].startswith("Manual or API enrollment: API, api-")
    listed = client.get("/api/v1/enrollments/", {"journey": journey.pk}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert client.get("/api/v1/enrollments/", {"journey": journey.pk + 999}).json()["results"] == []
    path = client.get(f"/api/v1/enrollments/{body['id']}/path/")
    assert path.status_code == 200
    steps = path.json()["path"]
    assert steps[0]["node_name"] == "Thanks, we got your request"
    assert steps[0]["node_kind"] == "email"
    assert steps[0]["via"].startswith("Manual or API enrollment: API, api-")
    assert steps[0]["entered_at"].endswith("Z")
    assert path.json()["enrollment"]["id"] == body["id"]


def test_enrollment_is_refused_with_a_message() -> None:
    journey = playbook()
    lead = LeadFactory(email="ada@example.com")
    client = token_client(marketer())
    url = f"/api/v1/journeys/{journey.pk}/enroll/"

    unknown = client.post(url, {"lead": 987654}, format="json")
    assert error(unknown)["fields"] == {"lead": ["No such lead."]}
    neither = client.post(url, {}, format="json")
    assert error(neither)["fields"] == {"lead": ["Give the lead's id or its email."]}

    assert client.post(url, {"lead": lead.pk}, format="json").status_code == 201
    again = client.post(url, {"lead": lead.pk}, format="json")
    assert error(again)["fields"] == {"lead": ["The lead is in this journey now."]}
    Enrollment.objects.filter(lead=lead).update(state=Enrollment.State.COMPLETED)
    once = client.post(url, {"lead": lead.pk}, format="json")
    assert error(once)["fields"] == {
        "lead": ["The lead went through this journey before, and it lets a lead in once."]
    }

    Journey.objects.filter(pk=journey.pk).update(status=Sequence.Status.PAUSED)
    other = LeadFactory()
    paused = client.post(url, {"lead": other.pk}, format="json")
    assert error(paused)["fields"] == {
        "journey": ["The journey “Consultation journey” is paused: publish it first."]
    }
    assert Enrollment.objects.filter(lead=other).count() == 0
    assert token_client(sales_rep()).post(url, {"lead": other.pk}, format="json").status_code in (
        403,
    )
    assert Lead.objects.count() == 2


def test_the_schema_describes_the_journey_endpoints(tmp_path: Any) -> None:
    schema_file = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))
    paths = yaml.safe_load(schema_file.read_text())["paths"]
    for route, methods in {
        "/api/v1/journeys/": {"get", "post"},
        "/api/v1/journeys/{id}/": {"get", "put", "patch"},
        "/api/v1/journeys/{id}/enroll/": {"post"},
        "/api/v1/journeys/{journey_pk}/nodes/": {"get", "post"},
        "/api/v1/journeys/{journey_pk}/nodes/{id}/": {"get", "patch", "delete"},
        "/api/v1/journeys/{journey_pk}/edges/": {"get", "post"},
        "/api/v1/journeys/{journey_pk}/edges/{id}/": {"delete"},
        "/api/v1/journeys/{journey_pk}/triggers/": {"get", "post"},
        "/api/v1/journeys/{journey_pk}/triggers/{id}/": {"delete"},
        "/api/v1/enrollments/{id}/path/": {"get"},
    }.items():
        assert route in paths, route
        assert methods <= set(paths[route]), (route, set(paths[route]))
    journey_params = {p["name"] for p in paths["/api/v1/enrollments/"]["get"]["parameters"]}
    assert "journey" in journey_params


def test_a_retried_create_with_the_same_idempotency_key_makes_one_journey() -> None:
    client = token_client(marketer())
    first = client.post("/api/v1/journeys/", GRAPH, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/journeys/", GRAPH, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Journey.objects.count() == 1


def test_removing_an_email_a_wait_until_names_is_a_400_that_removes_nothing() -> None:
    journey = playbook()
    day2, clicked = (journey.nodes.get(name=name) for name in ("Three ways to grow", "Clicked?"))
    Node.objects.filter(pk=clicked.pk).update(
        config={**clicked.config, "event": {"field": "clicked", "node": day2.pk}}
    )
    client = token_client(marketer())

    refused = client.delete(f"/api/v1/journeys/{journey.pk}/nodes/{day2.pk}/")

    assert refused.status_code == 400, refused.content
    assert error(refused)["fields"]["node"] == [
        "“Three ways to grow” is used by “Clicked?”: change that first."
    ]
    assert Node.objects.filter(pk=day2.pk).exists()
