"""A segment as a filter on the sales dashboard (sales.lead_sets, registered by segments):
a rep picks a saved segment, sees only its members, and keeps the choice in a saved view."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sales.models import SavedView
from segments.services import create_segment
from tests.factories import LeadFactory, sales_rep

pytestmark = pytest.mark.django_db
SAVE = "/sales/views/"
LINKEDIN = {"match": "all", "conditions": [{"field": "source", "op": "is", "value": "linkedin"}]}


def test_a_rep_filters_the_dashboard_by_a_segment_and_saves_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    LeadFactory(email="from-linkedin@example.com", source="linkedin", temperature="warm")
    LeadFactory(email="from-google@example.com", source="google", temperature="warm")
    with django_capture_on_commit_callbacks(execute=True):  # the save fills it on commit
        segment = create_segment(name="From LinkedIn", conditions=LINKEDIN)
    client = Client()
    client.force_login(sales_rep())

    page = client.get(reverse("sales:dashboard")).content.decode()
    assert f'<option value="{segment.pk}">From LinkedIn</option>' in page
    assert "from-google@example.com" in page

    filtered = client.get(reverse("sales:dashboard"), {"in_set": segment.pk}).content.decode()
    assert "from-linkedin@example.com" in filtered
    assert "from-google@example.com" not in filtered

    response = client.post(SAVE, {"name": "LinkedIn", "query": f"in_set={segment.pk}"})
    assert response.status_code == 302
    assert SavedView.objects.get().query == f"in_set={segment.pk}"


def test_a_segment_that_is_not_there_is_refused_with_a_message() -> None:
    client = Client()
    client.force_login(sales_rep())
    response = client.get(reverse("sales:dashboard"), {"in_set": "999999"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
