"""Saved dashboard views: a rep names the current filters, keeps them or shares them."""

import pytest
from django.test import Client
from django.urls import reverse

from sales.models import SavedView
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db
SAVE = "/sales/views/"


def _dashboard(client: Client, query: str = "") -> str:
    return client.get(reverse("sales:dashboard") + query).content.decode()


def test_a_rep_saves_the_filters_and_opens_them_again() -> None:
    rep = sales_rep()
    client = Client(enforce_csrf_checks=False)
    client.force_login(rep)
    LeadFactory(email="hot@example.com", temperature="hot", source="linkedin")
    LeadFactory(email="cold@example.com", temperature="cold", source="linkedin")
    html = _dashboard(client, "?temperature=hot&source=linkedin")
    assert "Save view" in html
    response = client.post(
        SAVE, {"name": "Hot from LinkedIn", "query": "temperature=hot&source=linkedin&after=junk"}
    )
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.owner, view.name, view.shared) == (rep, "Hot from LinkedIn", False)
    assert view.query == "temperature=hot&source=linkedin", "only the filters are kept"
    assert response["Location"] == f"/sales/?{view.query}"
    page = _dashboard(client)
    assert 'href="?temperature=hot&amp;source=linkedin">Hot from LinkedIn</a>' in page
    filtered = _dashboard(client, f"?{view.query}")
    assert "hot@example.com" in filtered and "cold@example.com" not in filtered


def test_a_shared_view_is_the_teams_and_a_personal_one_stays_its_owners() -> None:
    ann, ben = sales_rep(), sales_rep()
    client = Client()
    client.force_login(ann)
    client.post(SAVE, {"name": "Mine only", "query": "stage=new"})
    client.post(SAVE, {"name": "Team: hot", "query": "temperature=hot", "shared": "on"})
    other = Client()
    other.force_login(ben)
    page = _dashboard(other)
    assert "Team: hot" in page and "Mine only" not in page
    # Only the owner deletes a view.
    shared = SavedView.objects.get(name="Team: hot")
    assert other.post(f"/sales/views/{shared.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=shared.pk).exists()
    assert client.post(f"/sales/views/{shared.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "  ", "query": "temperature=hot"}, "This field is required."),
        ({"name": "Bad", "query": "temperature=boiling"}, "These filters are not valid"),
        ({"name": "All", "query": "after=abc"}, "Choose some filters first"),
        ({"name": "x" * 101, "query": "temperature=hot"}, "at most 100 characters"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_saved(
    data: dict[str, str], message: str
) -> None:
    client = Client()
    client.force_login(sales_rep())
    response = client.post(SAVE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_second_view_with_the_same_name_is_refused() -> None:
    client = Client()
    client.force_login(sales_rep())
    assert client.post(SAVE, {"name": "Hot", "query": "temperature=hot"}).status_code == 302
    response = client.post(SAVE, {"name": "Hot", "query": "temperature=warm"})
    assert response.status_code == 400
    assert "You already have a view named “Hot”." in response.content.decode()
    assert SavedView.objects.get().query == "temperature=hot"


def test_saving_needs_csrf_and_a_login() -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_rep())
    assert strict.post(SAVE, {"name": "Hot", "query": "temperature=hot"}).status_code == 403
    anonymous = Client().post(SAVE, {"name": "Hot", "query": "temperature=hot"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert not SavedView.objects.exists()
