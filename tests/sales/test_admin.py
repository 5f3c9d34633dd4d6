"""The sales models in the admin: rep profiles with blocked dates, settings, read-only logs."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sales.models import Handoff, LeadChange, Note, SalesSettings
from tests.factories import LeadFactory, UserFactory, marketer
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
MODELS = ("repprofile", "salessettings", "booking", "note", "leadchange", "handoff")


def test_every_sales_model_has_an_admin_page(client: Client) -> None:
    rep = make_rep("ann")
    lead = LeadFactory()
    Note.objects.create(lead=lead, author=rep, body="hello")
    LeadChange.objects.create(lead=lead, field="owner", new_value="ann")
    Handoff.objects.create(lead=lead, rep=rep, turned_hot_at=lead.created_at)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in MODELS:
        response = client.get(reverse(f"admin:sales_{model}_changelist"), follow=True)
        assert response.status_code == 200, model
    page = client.get(reverse("admin:sales_repprofile_change", args=[rep.rep_profile.pk]))
    assert "blocked_dates" in page.content.decode(), "blocked dates edited inline"
    assert client.get(reverse("admin:sales_note_add")).status_code == 403, "logs are read-only"


def test_marketers_set_the_webhook(client: Client) -> None:
    client.force_login(marketer())
    url = reverse("admin:sales_salessettings_change", args=[1])
    assert client.get(reverse("admin:sales_salessettings_changelist"))["Location"] == url
    response = client.post(
        url, {"round_robin": "on", "webhook_url": "https://hooks.example.com/T/B"}
    )
    assert response.status_code == 302
    assert SalesSettings.load().webhook_url == "https://hooks.example.com/T/B"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/hooks", "10.0.0.5 points to 10.0.0.5, a private or reserved address"),
        ("https://[::a9fe:a9fe]/hooks", "(it carries the IPv4 address 169.254.169.254)"),
        ("https://[2002:a00:5::1]/hooks", "(an IPv6 transition range: 6to4, Teredo, NAT64)"),
    ],
)
def test_the_webhook_must_be_a_public_address(
    client: Client, settings: Any, url: str, reason: str
) -> None:
    """SSRF: the hand-off's webhook is checked as webhook endpoints are, when saved."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    SalesSettings.load()
    client.force_login(marketer())
    admin_url = reverse("admin:sales_salessettings_change", args=[1])
    response = client.post(admin_url, {"round_robin": "on", "webhook_url": url})
    assert response.status_code == 200, "the form comes back with the error"
    assert reason in response.content.decode()
    assert SalesSettings.load().webhook_url == ""
