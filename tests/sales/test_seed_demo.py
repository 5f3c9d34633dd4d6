"""The demo gives the sales login a rep profile and a hot lead waiting for it."""

from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from capture.models import Lead
from sales.models import Handoff, RepProfile

pytestmark = pytest.mark.django_db


def test_the_demo_hands_a_hot_lead_to_the_sales_login(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert RepProfile.objects.filter(user__username="sales").exists()
    temperatures = dict(Lead.objects.values_list("first_name", "temperature"))
    assert temperatures == {"Maria": "hot", "Sam": "warm", "Li": "cold"}
    handoff = Handoff.objects.get()
    assert (handoff.lead.first_name, handoff.rep.username) == ("Maria", "sales")
    assert Lead.objects.get(first_name="Maria").owner == handoff.rep
    assert any(m.to == ["sales@leadfunnel.localhost"] for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert Handoff.objects.count() == 1, "idempotent"
