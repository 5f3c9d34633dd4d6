"""The pipeline board: columns per stage with counts and capped cards, and moving a card
through the same stage service as the lead page (its rules, its audit row)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from sales.models import LeadChange
from sales.selectors.board import CARDS_PER_COLUMN, pipeline_board
from tests.factories import LeadFactory, marketer
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def _move(client: Client, lead: Lead, **data: Any) -> Any:
    return client.post(reverse("sales:board_move", args=[lead.pk]), data, **JSON)


def test_it_moves_a_card_through_the_stage_service_and_audits_it(client: Client) -> None:
    rep = make_rep("ann")
    lead = LeadFactory(first_name="Ada", last_name="Lovelace", stage=Lead.Stage.SALES_READY)
    client.force_login(rep)
    response = _move(client, lead, stage="contacted")
    assert response.status_code == 200
    assert response.json() == {
        "message": "Ada Lovelace moved to Contacted.",
        "stage": "contacted",
        "label": "Contacted",
    }
    assert Lead.objects.get(pk=lead.pk).stage == "contacted"
    change = LeadChange.objects.get(lead=lead)
    assert (change.field, change.old_value, change.new_value, change.actor) == (
        "stage",
        "sales_ready",
        "contacted",
        rep,
    )


def test_it_moves_to_lost_with_the_reason_and_without_script(client: Client) -> None:
    client.force_login(make_rep("ann"))
    lead = LeadFactory(first_name="Ada", last_name="Lovelace", stage=Lead.Stage.CONTACTED)
    response = client.post(
        reverse("sales:board_move", args=[lead.pk]),
        {"stage": "lost", "reason": "Went with a competitor", "owner": "mine"},
    )
    assert response.status_code == 302 and response["Location"] == "/sales/board/?owner=mine"
    change = LeadChange.objects.get(lead=lead)
    assert (change.new_value, change.reason) == ("lost", "Went with a competitor")
    page = client.get(response["Location"])
    assert "Ada Lovelace moved to Lost." in page.content.decode()


@pytest.mark.parametrize(
    ("stage", "start", "status", "message"),
    [
        ("new", "sales_ready", 400, "Choose a stage: contacted, booked, won or lost."),
        ("lost", "contacted", 400, "Say why the lead was lost."),
        ("contacted", "contacted", 409, "The lead is already contacted."),
        ("<script>", "new", 400, "Choose a stage: contacted, booked, won or lost."),
    ],
)
def test_it_refuses_a_move_the_service_refuses_with_its_message(
    client: Client, stage: str, start: str, status: int, message: str
) -> None:
    client.force_login(make_rep("ann"))
    lead = LeadFactory(stage=start)
    response = _move(client, lead, stage=stage)
    assert (response.status_code, response.json()) == (status, {"error": message})
    assert Lead.objects.get(pk=lead.pk).stage == start
    assert not LeadChange.objects.filter(lead=lead).exists()


def test_a_refused_move_without_script_shows_the_board_with_the_message(client: Client) -> None:
    client.force_login(make_rep("ann"))
    lead = LeadFactory(stage=Lead.Stage.CONTACTED)
    response = client.post(reverse("sales:board_move", args=[lead.pk]), {"stage": "lost"})
    assert response.status_code == 400
    assert '<div class="alert alert-danger py-2" role="alert">Say why the lead was lost.</div>' in (
        response.content.decode()
    )
    assert not LeadChange.objects.filter(lead=lead).exists()


def test_a_marketer_sees_the_board_but_cannot_move_cards(client: Client) -> None:
    lead = LeadFactory(first_name="Ada", last_name="Lovelace", stage=Lead.Stage.SALES_READY)
    client.force_login(marketer())
    page = client.get(reverse("sales:board"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Ada Lovelace" in body
    assert "board.js" not in body and "Move to" not in body
    response = _move(client, lead, stage="contacted")
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == "sales_ready"
    assert not LeadChange.objects.filter(lead=lead).exists()


def test_a_move_needs_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_rep("ann"))
    lead = LeadFactory(stage=Lead.Stage.SALES_READY)
    response = _move(client, lead, stage="contacted")
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == "sales_ready"
    assert not LeadChange.objects.filter(lead=lead).exists()


def test_the_board_counts_every_lead_and_caps_the_cards(client: Client) -> None:
    rep = make_rep("ann")
    for score in range(4):
        LeadFactory(stage=Lead.Stage.CONTACTED, score=score * 10, owner=rep)
    LeadFactory(stage=Lead.Stage.CONTACTED, score=99)  # someone else's
    LeadFactory(stage=Lead.Stage.WON, owner=rep)
    columns = {c.stage: c for c in pipeline_board(user=rep, owner="", per_column=3)}
    assert list(columns) == list(Lead.Stage.values)
    contacted = columns["contacted"]
    assert (contacted.count, contacted.more) == (5, 2)
    assert [lead.score for lead in contacted.cards] == [99, 30, 20]
    assert (columns["won"].count, columns["new"].count) == (1, 0)
    mine = {c.stage: c for c in pipeline_board(user=rep, owner="mine", per_column=3)}
    assert [lead.score for lead in mine["contacted"].cards] == [30, 20, 10]
    assert mine["contacted"].count == 4

    client.force_login(rep)
    page = client.get(reverse("sales:board"), {"owner": "mine"}).content.decode()
    assert 'href="/sales/?stage=contacted&amp;owner=mine"' not in page  # under the cap of 25
    assert '<span class="lf-count">4</span>' in page


def test_the_more_link_goes_to_the_filtered_dashboard(client: Client) -> None:
    rep = make_rep("ann")
    for _ in range(CARDS_PER_COLUMN + 1):
        LeadFactory(stage=Lead.Stage.BOOKED, owner=rep)
    client.force_login(rep)
    page = client.get(reverse("sales:board"), {"owner": "mine"}).content.decode()
    assert '<a href="/sales/?stage=booked&amp;owner=mine">1 more in Booked</a>' in page
    assert page.count('class="card lf-card') == CARDS_PER_COLUMN


def test_an_unknown_owner_filter_is_a_400_with_a_message(client: Client) -> None:
    client.force_login(make_rep("ann"))
    response = client.get(reverse("sales:board"), {"owner": "everyone'; drop"})
    assert response.status_code == 400
    assert "Choose whose leads to show: mine, unassigned or everyone&#x27;s." in (
        response.content.decode()
    )
