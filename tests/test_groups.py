from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from leadfunnel.groups import MARKETERS, SALES_REPS
from tests.factories import LeadFactory, UserFactory, marketer, sales_rep

pytestmark = pytest.mark.django_db


def _codenames(group: str) -> set[str]:
    return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))


def test_marketers_manage_pages_and_campaigns_and_read_leads() -> None:
    perms = _codenames(MARKETERS)
    for model in ("landingpage", "campaign"):
        assert {f"add_{model}", f"change_{model}", f"delete_{model}", f"view_{model}"} <= perms
    assert {"view_lead", "change_lead", "view_submission", "view_activity"} <= perms
    assert not {"delete_lead", "add_submission", "change_submission", "delete_submission"} & perms
    assert not any(p.endswith(("_user", "_group", "_permission")) for p in perms)


def test_sales_reps_view_and_work_leads_only() -> None:
    perms = _codenames(SALES_REPS)
    assert {"view_lead", "change_lead"} <= perms
    # Adding notes, calls and tasks is working a lead; nothing else is created or deleted.
    assert not any(p.startswith(("add_", "delete_")) for p in perms - {"add_note", "add_task"})
    assert not {"change_landingpage", "change_campaign"} & perms


def test_the_dashboard_admits_sales_reps_and_marketers(client: Client) -> None:
    LeadFactory(email="hot@example.com", temperature="hot", score=80)
    LeadFactory(email="cold@example.com")
    for user in (sales_rep(), marketer()):
        client.force_login(user)
        response = client.get(reverse("sales:dashboard"))
        assert response.status_code == 200
        html = response.content.decode()
        assert html.index("hot@example.com") < html.index("cold@example.com"), "hot first"


def test_the_dashboard_refuses_others(client: Client) -> None:
    anonymous = client.get(reverse("sales:dashboard"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    client.force_login(UserFactory())
    assert client.get(reverse("sales:dashboard")).status_code == 403


def test_a_sales_rep_signs_in_and_lands_on_the_dashboard(client: Client, settings: Any) -> None:
    rep = sales_rep()
    response = client.post(
        reverse("login"), {"username": rep.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:dashboard")
