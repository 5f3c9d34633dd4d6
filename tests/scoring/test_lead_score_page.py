import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Activity
from scoring.services import score_lead
from tests.factories import (
    ActivityFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    UserFactory,
    sales_rep,
)

pytestmark = pytest.mark.django_db


def test_a_rep_sees_why_a_lead_scores_what_it_does(client: Client) -> None:
    FitRuleFactory(name="Director title", value="director", points=15)
    EngagementRuleFactory(activity_kind=Activity.Kind.EMAIL_CLICKED, points=5)
    lead = LeadFactory(job_title="Director", first_name="Ada", last_name="Lovelace")
    score_lead(lead_id=lead.pk)
    ActivityFactory.create_batch(3, lead=lead, kind=Activity.Kind.EMAIL_CLICKED)
    score_lead(lead_id=lead.pk)
    client.force_login(sales_rep())

    response = client.get(reverse("sales:lead_score", args=[lead.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in html
    assert "Score 30" in html
    assert "Director title +15" in html
    assert "3 email clicks +15" in html
    assert "0 → 15" in html and "15 → 30" in html, "the history, newest first"
    assert html.index("15 → 30") < html.index("0 → 15")


def test_the_page_needs_a_login_and_the_lead_permission(client: Client) -> None:
    lead = LeadFactory()
    url = reverse("sales:lead_score", args=[lead.pk])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(sales_rep())
    assert client.get(reverse("sales:lead_score", args=[lead.pk + 1000])).status_code == 404
