"""Issue 6's "done when", as an integrator lives it: read /api/docs/, get a token made in the
admin, push a lead and its page views from another system, and receive a signed `lead.hot`
webhook when the views make it hot."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token

from tests.e2e.conftest import DEMO_PASSWORD
from tests.webhooks.receiver import Receiver
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


def test_an_integrator_pushes_a_lead_and_hears_when_it_turns_hot(
    live_server: Any, page: Page, demo: None, receiver: Receiver
) -> None:
    # The docs: Swagger UI, served from our own static files under our CSP, lists the API.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("leadfunnel API").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/leads/").first).to_be_visible()

    # A superuser makes a token for the marketer's integration in the admin.
    User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/admin/authtoken/tokenproxy/add/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("User").select_option(label="marketer")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    token = Token.objects.get(user__username="marketer").key

    # The marketer's endpoint hears about hot leads.
    Endpoint.objects.create(
        name="CRM", url=receiver.url, secret=receiver.secret, events=["lead.hot"]
    )

    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Token {token}"}, timeout=30
    ) as api:
        created = api.post(
            "/api/v1/leads/",
            json={
                "email": "Dana.Director@Fieldstone.example",
                "first_name": "Dana",
                "company": "Fieldstone",
                "job_title": "Marketing Director",
                "company_size": "250-999",
            },
            headers={"Idempotency-Key": "crm-sync-1"},
        )
        assert created.status_code == 201, created.text
        lead_id = created.json()["id"]
        assert receiver.of_type("lead.hot") == [], "fit alone (35 points) is not hot"

        views = [
            {"kind": "page_viewed", "lead": lead_id, "url": f"https://fieldstone.example{path}"}
            for path in ("/pricing", "/pricing?plan=team", "/pricing#faq", "/blog/roi")
        ]
        pushed = api.post("/api/v1/activities/", json={"events": views})
        assert pushed.status_code == 201, pushed.text
        assert pushed.json() == {"accepted": 4}

        lead = api.get(f"/api/v1/leads/{lead_id}/").json()
        assert lead["temperature"] == "hot", lead

    deadline = time.monotonic() + 10
    while not receiver.of_type("lead.hot") and time.monotonic() < deadline:
        time.sleep(0.05)
    (hot,) = receiver.of_type("lead.hot")
    assert hot.signature_valid, "signed with the endpoint's secret"
    assert hot.json["type"] == "lead.hot"
    assert hot.json["data"]["lead"]["email"] == "dana.director@fieldstone.example"
    assert hot.headers["x-leadfunnel-event"] == "lead.hot"
