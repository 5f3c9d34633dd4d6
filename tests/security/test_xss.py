"""Hostile names are inert wherever a lead is shown, and marketer templates reach nothing."""

import csv
import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from capture.models import Campaign, Lead
from nurture.admin import StepForm
from nurture.models import Delivery
from nurture.services.scheduling import enroll_lead
from nurture.services.sending import build_message
from tests.factories import (
    LeadFactory,
    StepFactory,
    UserFactory,
    marketer,
    playbook_sequence,
    sales_rep,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
# What must never reach a page as markup: the payloads, or any part that would run.
RAW = (SCRIPT, IMAGE, "<script>", "<img src=x")


@pytest.fixture
def lead() -> Lead:
    return LeadFactory(
        first_name=SCRIPT,
        last_name=IMAGE,
        company=IMAGE,
        job_title=SCRIPT,
        source=IMAGE,
        temperature="hot",
        score=80,
    )


def _assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{raw!r} unescaped in {where}"


def test_the_admin_lead_list_and_change_page_escape_names(client: Client, lead: Lead) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in ("/admin/capture/lead/", f"/admin/capture/lead/{lead.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200
        _assert_inert(response.content.decode(), url)
    # The escaped form is there: the test looked at the right page.
    listing = client.get("/admin/capture/lead/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_the_sales_dashboard_and_lead_page_escape_names(client: Client, lead: Lead) -> None:
    client.force_login(sales_rep())
    enroll_lead(lead=lead, sequence=playbook_sequence(name=SCRIPT))
    client.post(
        f"/sales/leads/{lead.pk}/notes/", {"body": IMAGE, "kind": "call", "outcome": "connected"}
    )
    for url in (
        "/sales/",
        f"/sales/leads/{lead.pk}/",
        f"/sales/leads/{lead.pk}/score/",
        "/sales/live/?since=0",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_inert(response.content.decode(), url)
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_email_html_part_escapes_names_and_drops_authored_scripts(lead: Lead) -> None:
    sequence = playbook_sequence()
    sequence.steps.filter(day=1).update(
        body="Hello {{ first_name }} {{ last_name }} of {{ company }}.\n\n"
        + SCRIPT
        + '\n\n<a href="javascript:alert(1)">x</a> <img src=x onerror=alert(1)>'
    )
    enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    delivery = Delivery.objects.get(enrollment=enrollment, step__day=1)
    message = build_message(delivery=delivery)
    html = message.alternatives[0].content
    _assert_inert(html, "the email's HTML part")
    assert not re.search(r"<[^>]*\s(on[a-z]+|href=\"javascript:)", html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_name_cannot_add_an_email_header() -> None:
    lead = LeadFactory(first_name="Ada\r\nBcc: thief@example.com", last_name="L\nX-Evil: 1")
    enrollment = enroll_lead(lead=lead, sequence=playbook_sequence())
    assert enrollment is not None
    enrollment.sequence.steps.filter(day=1).update(subject="Hi {{ first_name }} {{ last_name }}")
    delivery = Delivery.objects.get(enrollment=enrollment, step__day=1)
    message = build_message(delivery=delivery).message()
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in str(message["Subject"]) and "\n" not in str(message["To"])


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_the_admin_csv_export_neutralises_formulas(client: Client) -> None:
    leads = [LeadFactory(first_name=formula, company=IMAGE) for formula in FORMULAS]
    client.force_login(marketer())
    response = client.post(
        "/admin/capture/lead/",
        {
            "action": "export_csv",
            "_selected_action": [lead.pk for lead in leads],
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    rows = _csv_rows(b"".join(response.streaming_content))
    names = {row[rows[0].index("first_name")] for row in rows[1:]}
    assert names == {f"'{formula}" for formula in FORMULAS}


def test_the_metrics_csv_neutralises_formulas(client: Client) -> None:
    campaign = Campaign.objects.create(name="=cmd|' /C calc'!A0", utm_campaign="evil")
    LeadFactory(source="@SUM(1+1)", campaign=campaign)
    client.force_login(sales_rep())
    response = client.get("/sales/metrics/?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    cells = [cell for row in _csv_rows(response.content)[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1) / (no form)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


ESCAPES = [
    "{{ settings.SECRET_KEY }}",
    "{{ lead.delete }}",
    "{{ first_name.__class__ }}",
    "{% debug %}",
    "{{ first_name|upper }}",
    "{% load log %}{% get_admin_log 9 as x %}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_the_step_form_refuses_template_syntax_beyond_merge_fields(text: str) -> None:
    sequence = playbook_sequence()
    data: dict[str, Any] = {"day": 9, "subject": "Hi", "body": f"Hello {text}", "is_active": "on"}
    form = StepForm(data=data, instance=StepFactory.build(sequence=sequence))
    assert not form.is_valid()
    assert "Unknown merge field" in str(form.errors["body"])
    allowed = StepForm(
        data={**data, "body": "Hello {{ first_name }}, {{booking_url}}"},
        instance=StepFactory.build(sequence=sequence),
    )
    assert allowed.is_valid(), allowed.errors


@pytest.mark.parametrize("text", ESCAPES)
def test_template_syntax_forced_into_the_database_renders_as_nothing_harmful(text: str) -> None:
    lead = LeadFactory(first_name="Ada")
    other = LeadFactory(email="someone-else@example.com")
    sequence = playbook_sequence()
    sequence.steps.filter(day=1).update(subject=f"Hi {text}", body=f"Hello {text}", preheader=text)
    enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    message = build_message(delivery=Delivery.objects.get(enrollment=enrollment, step__day=1))
    everything = "\n".join([message.subject, message.body, message.alternatives[0].content])
    assert settings.SECRET_KEY not in everything
    assert other.email not in everything
    assert "<class" not in everything and "&lt;class" not in everything
    assert "ADA" not in message.subject, "no filters: only the plain allowlisted names"
    assert Lead.objects.filter(pk=lead.pk).exists()
