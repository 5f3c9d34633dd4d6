import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Campaign, LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission
from tests.factories import (
    LandingPageFactory,
    LeadFactory,
    marketer,
    playbook_sequence,
    sales_rep,
)
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client: Client) -> Client:
    client.force_login(marketer())
    return client


def test_a_marketer_sees_a_captured_lead_in_the_admin(
    marketer_client: Client, page: LandingPage, submit: Any
) -> None:
    submit(page, email="new.lead@example.com")
    changelist = marketer_client.get(reverse("admin:capture_lead_changelist"))
    assert changelist.status_code == 200
    assert "new.lead@example.com" in changelist.content.decode()
    lead = Lead.objects.get()
    detail = marketer_client.get(reverse("admin:capture_lead_change", args=[lead.pk]))
    assert detail.status_code == 200
    assert page.title in detail.content.decode(), "the submission is shown inline"


def test_the_lead_list_searches_and_filters(marketer_client: Client) -> None:
    LeadFactory(email="ada@analytical.example", company="Analytical", stage="won")
    LeadFactory(email="bob@builder.example", company="Builder", stage="new")
    url = reverse("admin:capture_lead_changelist")
    found = marketer_client.get(url, {"q": "analytical"}).content.decode()
    assert "ada@analytical.example" in found and "bob@builder.example" not in found
    won = marketer_client.get(url, {"stage__exact": "won"}).content.decode()
    assert "ada@analytical.example" in won and "bob@builder.example" not in won


def test_the_landing_page_admin_shows_counts_preview_and_embed_snippet(
    marketer_client: Client, settings: Any
) -> None:
    page = LandingPageFactory(view_count=4)
    for i in range(2):
        capture_submission(page=page, data={"email": f"p{i}@example.com"}, tracking=Tracking())
    changelist = marketer_client.get(reverse("admin:capture_landingpage_changelist"))
    html = changelist.content.decode()
    assert "2 / 4 · 50.0%" in html, "conversion = 2 submissions / 4 views"
    change = marketer_client.get(reverse("admin:capture_landingpage_change", args=[page.pk]))
    html = change.content.decode()
    assert f"{settings.SITE_URL}/l/{page.slug}/embed/" in html
    assert "&lt;iframe" in html
    assert f'href="/l/{page.slug}/"' in html


def test_a_marketer_creates_a_landing_page(marketer_client: Client) -> None:
    response = marketer_client.post(
        reverse("admin:capture_landingpage_add"),
        {
            "kind": "webinar",
            "title": "Webinar",
            "slug": "webinar",
            "headline": "Join us",
            "body": "",
            "ask_first_name": "optional",
            "ask_company": "required",
            "ask_job_title": "later",
            "qualifying_question": "",
            "qualifying_choices": "",
            "consent_text": "",
            "cta_label": "Register",
            "thank_you_text": "See you there",
            "redirect_url": "",
            "embed_origins": "https://www.example.com",
            "published": "on",
            "testimonial": "",
            "testimonial_author": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = LandingPage.objects.get(slug="webinar")
    assert page.fields_shown == ["first_name", "company"]
    assert page.fields_required == ["company"]
    assert page.fields_later == ["job_title"]
    assert Client().get("/l/webinar/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ask_company": "sometimes"}, "Select a valid choice."),
        (
            {"qualifying_question": "When?", "qualifying_choices": ""},
            "Give at least one answer for the question.",
        ),
        ({"embed_origins": "www.example.com/path"}, "is not an origin"),
        ({"next_step_url": "javascript:alert(1)"}, "Enter a valid URL."),
        (
            {"redirect_url": "ftp://files.example.com/x"},
            "Enter a link that starts with https:// or http://.",
        ),
    ],
)
def test_the_landing_page_form_explains_bad_settings(
    marketer_client: Client, overrides: dict[str, Any], message: str
) -> None:
    data = {
        "kind": "consultation",
        "title": "T",
        "slug": "t",
        "headline": "H",
        "cta_label": "Send",
        "thank_you_text": "Thanks",
        **overrides,
    }
    response = marketer_client.post(reverse("admin:capture_landingpage_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LandingPage.objects.exists()


def test_submissions_are_read_only(marketer_client: Client, page: LandingPage) -> None:
    submission = capture_submission(
        page=page, data={"email": "a@example.com"}, tracking=Tracking()
    ).submission
    url = reverse("admin:capture_submission_change", args=[submission.pk])
    assert marketer_client.get(url).status_code == 200
    assert marketer_client.post(url, {"utm_source": "forged"}).status_code == 403
    assert marketer_client.get(reverse("admin:capture_submission_add")).status_code == 403
    submission.refresh_from_db()
    assert submission.utm_source == ""
    assert Submission.objects.count() == 1


def test_the_csv_export_defuses_formulas(marketer_client: Client) -> None:
    lead = LeadFactory(
        first_name='=HYPERLINK("http://evil")',
        last_name="+1",
        company="@SUM(A1)",
        job_title="-2+3",
        industry="Plain",
    )
    response = marketer_client.post(
        reverse("admin:capture_lead_changelist"),
        {"action": "export_csv", "_selected_action": [lead.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["first_name"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["last_name"] == "'+1"
    assert rows[0]["company"] == "'@SUM(A1)"
    assert rows[0]["job_title"] == "'-2+3"
    assert rows[0]["industry"] == "Plain"
    assert rows[0]["email"] == lead.email


def test_a_sales_rep_cannot_use_the_admin(client: Client) -> None:
    client.force_login(sales_rep())
    response = client.get(reverse("admin:capture_lead_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"spend": "-50"}, "Spend can&#x27;t be negative."),
        (
            {"starts_on": "2026-03-10", "ends_on": "2026-03-01"},
            "The campaign can&#x27;t end before",
        ),
    ],
)
def test_a_campaign_the_database_would_refuse_gets_a_sentence(
    marketer_client: Client, values: dict[str, str], message: str
) -> None:
    data = {"name": "Spring", "key": "spring", "spend": "100", "currency": "USD", **values}

    response = marketer_client.post(reverse("admin:capture_campaign_add"), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "is violated" not in page and "campaign_spend" not in page
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("started_by", ["nothing", "a journey", "a day list"])
def test_saving_a_double_opt_in_page_no_journey_starts_from_says_so(
    marketer_client: Client, started_by: str
) -> None:
    page = LandingPageFactory(double_opt_in=True)
    if started_by == "a journey":
        journey = playbook(page=page)
        assert journey.status == "active" and journey.triggers.get().config == {"page": page.pk}
    elif started_by == "a day list":
        playbook_sequence(page=page)
    url = reverse("admin:capture_landingpage_change", args=[page.pk])
    data = {
        "kind": page.kind,
        "title": page.title,
        "slug": page.slug,
        "headline": page.headline,
        "cta_label": "Send",
        "thank_you_text": "Thanks",
        "double_opt_in": "on",
        "ask_first_name": "optional",
    }

    response = marketer_client.post(url, data, follow=True)

    assert response.redirect_chain, response.content.decode()[:1500]
    shown = [str(message) for message in response.context["messages"]]
    warned = [text for text in shown if text.startswith("Double opt-in is on, but no live")]
    assert bool(warned) == (started_by == "nothing"), shown
