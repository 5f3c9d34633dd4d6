"""The admin's builder endpoints: the live count, the sample, and refusals with reasons."""

import json

import pytest
from django.test import Client

from segments.models import Segment
from tests.factories import LeadFactory, marketer, sales_rep

pytestmark = pytest.mark.django_db
PREVIEW, SAMPLE = "/admin/segments/segment/preview/", "/admin/segments/segment/sample/"
HOT = {"match": "all", "conditions": [{"field": "temperature", "op": "is", "value": "hot"}]}


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(marketer())
    return client


def test_it_counts_the_tree_being_built(staff: Client) -> None:
    LeadFactory(temperature="hot")
    LeadFactory(temperature="hot", email="erased-x@erased.invalid")
    LeadFactory(temperature="cold")
    response = staff.post(PREVIEW, {"conditions": json.dumps(HOT)})
    assert response.status_code == 200
    assert '<strong class="segment-count-number">1</strong> lead matches' in response.text


def test_it_shows_twenty_escaped(staff: Client) -> None:
    for index in range(25):
        LeadFactory(temperature="hot", first_name=f"<b>Ada{index}</b>")
    response = staff.post(SAMPLE, {"conditions": json.dumps(HOT)})
    assert response.text.count("<tr>") == 21  # the header and 20 leads
    assert "&lt;b&gt;Ada" in response.text and "<b>Ada" not in response.text


def test_it_says_what_is_wrong_and_where(staff: Client) -> None:
    tree = {
        "match": "all",
        "conditions": [
            {"match": "any", "conditions": [{"field": "score", "op": "at_least", "value": "lots"}]}
        ],
    }
    response = staff.post(PREVIEW, {"conditions": json.dumps(tree)})
    assert response.status_code == 422
    assert "Condition 1.1: A score is a whole number." in response.text
    assert staff.post(PREVIEW, {"conditions": "{nope"}).status_code == 422


def test_the_form_saves_the_tree_and_offers_the_catalog(staff: Client) -> None:
    page = staff.get("/admin/segments/segment/add/")
    assert page.status_code == 200
    assert 'id="segment-catalog"' in page.text and '"field": "activity"' in page.text
    response = staff.post(
        "/admin/segments/segment/add/",
        {"name": "Hot", "description": "", "conditions": json.dumps(HOT)},
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Hot").conditions == HOT
    bad = staff.post(
        "/admin/segments/segment/add/",
        {"name": "Bad", "conditions": json.dumps({"match": "maybe", "conditions": []})},
    )
    assert bad.status_code == 200 and "match is one of all, any, none." in bad.text


def test_a_rep_without_access_to_the_admin_gets_no_count() -> None:
    client = Client()
    client.force_login(sales_rep())
    response = client.post(PREVIEW, {"conditions": json.dumps(HOT)})
    assert response.status_code == 302  # to the admin login: reps work from /sales/
