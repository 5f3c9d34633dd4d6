"""`Lead.last_activity_at`: the dashboard's third sort key, stored and kept by capture."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import NewActivity, record_activities, record_activity
from sales.selectors.dashboard import DashboardFilters, filtered_leads
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_moves_forward_with_each_activity_and_never_back() -> None:
    lead = LeadFactory()
    later = timezone.now() + timedelta(minutes=5)
    record_activity(lead=lead, kind=Activity.Kind.PAGE_VIEWED, occurred_at=later)
    lead.refresh_from_db()
    assert lead.last_activity_at == later
    record_activity(
        lead=lead, kind=Activity.Kind.EMAIL_OPENED, occurred_at=later - timedelta(days=1)
    )
    lead.refresh_from_db()
    assert lead.last_activity_at == later, "an older event arriving late does not move it back"


def test_a_batch_moves_each_lead_to_its_newest_event() -> None:
    ann, ben = LeadFactory(), LeadFactory()
    now = timezone.now() + timedelta(minutes=1)
    record_activities(
        activities=[
            NewActivity(lead_id=ann.pk, kind=Activity.Kind.PAGE_VIEWED, occurred_at=now),
            NewActivity(
                lead_id=ann.pk, kind=Activity.Kind.PAGE_VIEWED, occurred_at=now + timedelta(1)
            ),
            NewActivity(
                lead_id=ben.pk, kind=Activity.Kind.PAGE_VIEWED, occurred_at=now + timedelta(2)
            ),
        ]
    )
    times = dict(Lead.objects.values_list("pk", "last_activity_at"))
    assert times[ann.pk] == now + timedelta(1)
    assert times[ben.pk] == now + timedelta(2)


def test_the_dashboard_search_can_use_the_trigram_indexes() -> None:
    leads = filtered_leads(filters=DashboardFilters(search="acme"), user=UserFactory())
    sql, params = leads.query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table is scanned whatever the indexes; forbid that to see what could be used.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for column in ("email", "first_name", "last_name", "company"):
        assert f"lead_{column}_trgm_idx" in plan, plan
