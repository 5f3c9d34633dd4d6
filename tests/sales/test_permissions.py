"""Who may open each sales page and do each action (booking pages: test_booking.py)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from leadfunnel.groups import CLAIM_LEAD, MARKETERS, SALES_REPS
from nurture.services.scheduling import enroll_lead
from sales.models import LeadChange
from tests.api.conftest import marketer as api_marketer
from tests.api.conftest import token_client
from tests.factories import LeadFactory, UserFactory, marketer, playbook_sequence, sales_rep
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db

PAGES = [
    ("sales:dashboard", False, ""),
    ("sales:live", False, "?since=0"),
    ("sales:metrics", False, ""),
    ("sales:metrics", False, "?format=csv"),
    ("sales:lead", True, ""),
    ("sales:lead_score", True, ""),
]
USERS: dict[str, Callable[[], User | None]] = {
    "anonymous": lambda: None,
    "no group": lambda: UserFactory(),
    "staff without group": lambda: UserFactory(is_staff=True),
    "sales rep": sales_rep,
    "marketer": marketer,
    "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
}
ALLOWED = {"sales rep", "marketer", "superuser"}
# Claiming makes the caller the lead's owner, and moving a lead's stage or owner is working
# the pipeline: sales reps (and superusers) only, as on the board.
CLAIMERS = {"sales rep", "superuser"}
PIPELINE_ACTIONS = {"sales:take", "sales:reassign", "sales:move_stage"}


def _login(client: Client, who: str) -> User | None:
    user = USERS[who]()
    if user is not None:
        client.force_login(user)
    return user


def _assert_refused(response: Any, who: str) -> None:
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize(("name", "per_lead", "query"), PAGES)
def test_pages_admit_reps_marketers_and_superusers_only(
    client: Client, who: str, name: str, per_lead: bool, query: str
) -> None:
    lead = LeadFactory()
    url = reverse(name, args=[lead.pk] if per_lead else []) + query
    _login(client, who)
    response = client.get(url)
    if who in ALLOWED:
        assert response.status_code == 200
    else:
        _assert_refused(response, who)


def _action_posts(lead: Lead) -> dict[str, dict[str, Any]]:
    other = make_rep("otto")
    sequence = playbook_sequence()
    enroll_lead(lead=lead, sequence=sequence)
    return {
        "sales:take": {},
        "sales:reassign": {"owner": other.pk},
        "sales:move_stage": {"stage": "contacted"},
        "sales:add_note": {"body": "Left a voicemail", "kind": "call", "outcome": "voicemail"},
        "sales:stop_sequence": {"sequence": sequence.pk},
    }


ACTIONS = [
    "sales:take",
    "sales:reassign",
    "sales:move_stage",
    "sales:add_note",
    "sales:stop_sequence",
]


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("name", ACTIONS)
def test_actions_need_the_right_to_change_leads(client: Client, who: str, name: str) -> None:
    lead = LeadFactory()
    data = _action_posts(lead)[name]
    _login(client, who)
    response = client.post(reverse(name, args=[lead.pk]), data)
    if who in (CLAIMERS if name in PIPELINE_ACTIONS else ALLOWED):
        assert response.status_code == 302, response.content.decode()[:500]
        assert response["Location"] == reverse("sales:lead", args=[lead.pk])
    else:
        _assert_refused(response, who)


def test_a_group_without_change_lead_may_look_but_not_act(client: Client) -> None:
    viewers = Group.objects.create(name="Viewers")
    viewers.permissions.add(
        *Group.objects.get(name=SALES_REPS).permissions.filter(codename="view_lead")
    )
    user = UserFactory()
    user.groups.add(viewers)
    client.force_login(user)
    lead = LeadFactory()
    assert client.get(reverse("sales:lead", args=[lead.pk])).status_code == 200
    assert client.post(reverse("sales:take", args=[lead.pk])).status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_a_marketer_cannot_claim_a_lead(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(marketer())

    response = client.post(reverse("sales:take", args=[lead.pk]))

    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner is None
    assert not LeadChange.objects.filter(lead=lead).exists()
    # Nor is the button offered: the lead page has no claim form for a marketer.
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert reverse("sales:take", args=[lead.pk]) not in page


def test_a_marketer_cannot_claim_a_lead_through_the_api(db: None) -> None:
    lead = LeadFactory()
    api = token_client(api_marketer())

    response = api.post(f"/api/v1/leads/{lead.pk}/owner/", {"owner": None}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "permission_denied", "message": "Only sales reps can claim a lead."}
    }
    assert Lead.objects.get(pk=lead.pk).owner is None
    # Nor hand it to a rep: as on the lead page and the board, that is sales' work.
    rep = make_rep("rita")
    response = api.post(f"/api/v1/leads/{lead.pk}/owner/", {"owner": rep.pk}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only sales reps can give a lead to a rep.",
        }
    }
    assert Lead.objects.get(pk=lead.pk).owner is None
    assert not LeadChange.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    ("name", "data"), [("sales:move_stage", {"stage": "won"}), ("sales:reassign", {})]
)
def test_a_marketer_cannot_move_a_leads_stage_or_owner(
    client: Client, name: str, data: dict[str, Any]
) -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, stage=Lead.Stage.CONTACTED)
    data = data or {"owner": make_rep("otto").pk}
    client.force_login(marketer())

    response = client.post(reverse(name, args=[lead.pk]), data)

    assert response.status_code == 403
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Lead.Stage.CONTACTED, rita)
    assert not LeadChange.objects.filter(lead=lead).exists()
    # Nor are the forms offered; the page still shows the lead's stage and owner.
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert reverse(name, args=[lead.pk]) not in page
    assert "Owner: rita" in page


def test_a_rep_still_moves_a_leads_stage_and_owner(client: Client) -> None:
    rita, otto = make_rep("rita"), make_rep("otto")
    lead = LeadFactory(owner=rita)
    client.force_login(rita)
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert reverse("sales:move_stage", args=[lead.pk]) in page
    assert reverse("sales:reassign", args=[lead.pk]) in page

    moved = client.post(reverse("sales:move_stage", args=[lead.pk]), {"stage": "won"})
    given = client.post(reverse("sales:reassign", args=[lead.pk]), {"owner": otto.pk})

    assert (moved.status_code, given.status_code) == (302, 302)
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Lead.Stage.WON, otto)


def test_a_marketer_cannot_move_a_leads_stage_through_the_api(db: None) -> None:
    lead = LeadFactory(stage=Lead.Stage.CONTACTED)

    response = token_client(api_marketer()).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "won"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CONTACTED
    by_rep = token_client(sales_rep()).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "won"}, format="json"
    )
    assert by_rep.status_code == 200, by_rep.content
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.WON


def test_only_sales_reps_hold_the_claim_permission() -> None:
    assert sales_rep().has_perm(CLAIM_LEAD)
    assert not marketer().has_perm(CLAIM_LEAD)


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_are_post_only(client: Client, name: str) -> None:
    lead = LeadFactory()
    client.force_login(sales_rep())
    assert client.get(reverse(name, args=[lead.pk])).status_code == 405


def test_actions_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    lead = LeadFactory()
    client.force_login(sales_rep())
    assert client.post(reverse("sales:take", args=[lead.pk])).status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_an_unknown_lead_is_404(client: Client) -> None:
    client.force_login(sales_rep())
    assert client.get(reverse("sales:lead", args=[999999])).status_code == 404
    assert client.post(reverse("sales:take", args=[999999])).status_code == 404


def test_the_groups_hold_the_sales_permissions() -> None:
    def codenames(group: str) -> set[str]:
        return set(
            Group.objects.get(name=group)
            .permissions.filter(content_type__app_label="sales")
            .values_list("codename", flat=True)
        )

    reps, marketers = codenames(SALES_REPS), codenames(MARKETERS)
    assert {"view_note", "add_note", "view_leadchange", "view_booking"} <= reps
    assert {
        "view_note",
        "add_note",
        "view_leadchange",
        "view_booking",
        "change_salessettings",
    } <= marketers
    assert "change_salessettings" not in reps
    assert not any(p.startswith("delete_") for p in reps | marketers)


def test_signing_out_of_the_sales_pages_lands_on_their_login_page(client: Client) -> None:
    client.force_login(make_rep("rita"))

    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain == [(reverse("login"), 302)]
    page = response.content.decode()
    assert "Django site admin" not in page
    assert 'name="username"' in page
    assert "_auth_user_id" not in client.session
