"""task.created: a task made through the API (or by hand, or by a journey) reaches a
subscribed receiver once, signed, with the task's facts."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leadfunnel.groups import SALES_REPS
from sales.models import RepProfile
from tests.factories import LeadFactory
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks.models import EventType, WebhookDelivery

pytestmark = pytest.mark.django_db


def _rep(username: str) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@leadfunnel.example", first_name="Rita", last_name="Rep"
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    RepProfile.objects.create(user=user)
    return user


def test_a_created_task_fires_a_signed_task_created(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    EndpointFactory(url=receiver.url, secret=receiver.secret, events=[EventType.TASK_CREATED])
    rita = _rep("rita")
    lead = LeadFactory(owner=rita, email="ada@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rita).key}")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/tasks/",
            {"lead": lead.pk, "title": "Call back", "due_at": "2026-03-11T09:30:00Z"},
            format="json",
        )

    assert response.status_code == 201
    [got] = receiver.of_type("task.created")
    assert got.signature_valid
    data = got.json["data"]
    task = data["task"]
    assert task.pop("created_at").endswith("Z")
    assert task == {
        "id": response.json()["id"],
        "title": "Call back",
        "note": "",
        "due_at": "2026-03-11T09:30:00Z",
        "source": "manual",
        "source_ref": "",
        "owner": {"name": "Rita Rep", "email": "rita@leadfunnel.example"},
    }
    assert data["lead"]["email"] == "ada@example.com"
    assert data["lead"]["owner_email"] == "rita@leadfunnel.example"
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_the_endpoint_form_offers_task_created(admin_client: Any) -> None:
    page = admin_client.get("/admin/webhooks/endpoint/add/").content.decode()
    assert 'value="task.created"' in page
    assert "task.created: a task for a sales rep was created" in page
