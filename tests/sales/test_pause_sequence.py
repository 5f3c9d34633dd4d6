from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from nurture.models import Enrollment
from nurture.services.dispatching import hand_out_due
from nurture.services.scheduling import enroll_lead
from sales.models import LeadChange
from tests.factories import LeadFactory, UserFactory, playbook_sequence, sales_rep

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_rep_pauses_and_resumes_a_leads_sequence(client: Client) -> None:
    sequence = playbook_sequence(weekdays=list(range(7)))
    with time_machine.travel(START, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        enrollment = enroll_lead(lead=LeadFactory(first_name="Pia"), sequence=sequence)
    assert enrollment is not None
    rep = sales_rep()
    client.force_login(rep)
    url = f"/sales/leads/{enrollment.lead_id}/sequences/pause/"

    assert client.post(url, {"sequence": sequence.pk}).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.PAUSED
    page = client.get(f"/sales/leads/{enrollment.lead_id}/").content.decode()
    assert "paused: nothing goes out until resumed" in page and "Resume sequence" in page
    with time_machine.travel(START + timedelta(days=2, minutes=5), tick=False):
        hand_out_due()
    assert len(mail.outbox) == 1, "nothing is sent while paused"

    assert client.post(url, {"sequence": sequence.pk, "resume": "1"}).status_code == 302
    with time_machine.travel(START + timedelta(days=2, minutes=10), tick=False):
        hand_out_due()
    assert [m.subject for m in mail.outbox] == ["Day 1 for Pia", "Day 2 for Pia", "Day 3 for Pia"]
    changes = LeadChange.objects.filter(lead=enrollment.lead, field="sequence")
    assert sorted(changes.values_list("new_value", flat=True)) == ["paused", "resumed"]
    assert set(changes.values_list("actor", flat=True)) == {rep.pk}


def test_pausing_needs_a_running_sequence_and_the_right(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(sales_rep())
    response = client.post(f"/sales/leads/{lead.pk}/sequences/pause/", {})
    assert response.status_code == 409
    client.force_login(UserFactory())
    assert client.post(f"/sales/leads/{lead.pk}/sequences/pause/", {}).status_code == 403
    assert client.post(
        f"/sales/leads/{lead.pk}/sequences/pause/", {"sequence": "x"}
    ).status_code in (400, 403)
