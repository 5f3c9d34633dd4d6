import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Activity, LandingPage, Lead, Submission
from tests.conftest import started_token, valid_form_data
from tests.factories import CampaignFactory, LandingPageFactory, marketer

pytestmark = pytest.mark.django_db


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_it_captures_a_lead_through_the_real_view_with_csrf(page: LandingPage) -> None:
    client = Client(enforce_csrf_checks=True)
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    form_page = client.get(url)
    assert form_page.status_code == 200
    html = form_page.content.decode()
    started = re.search(r'name="started" value="([^"]+)"', html).group(1)

    response = client.post(
        url, valid_form_data(csrfmiddlewaretoken=_csrf_token(html), started=started_token())
    )

    assert response.status_code == 302
    thanks_url = reverse("capture:thanks", kwargs={"slug": page.slug})
    assert response["Location"].startswith(thanks_url + "?t=")
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company) == (
        "ada@example.com",
        "Ada",
        "Analytical Engines Ltd",
    )
    assert lead.job_title == "Director of Engineering"
    assert lead.time_zone == "Europe/London"
    assert str(lead.country) == "GB"
    assert lead.answers == {"When would you like to start?": "Within a month"}
    assert lead.consent_given_at is not None
    assert lead.consent_text == page.consent_text
    assert lead.stage == Lead.Stage.NEW
    submission = Submission.objects.get()
    assert submission.lead == lead and submission.landing_page == page
    assert submission.data["email"] == "ada@example.com"
    assert Activity.objects.get().kind == Activity.Kind.FORM_SUBMITTED
    assert started  # the page issued a start token of its own
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert page.thank_you_text in thanks.content.decode()


def test_it_refuses_a_post_without_csrf_token(page: LandingPage) -> None:
    client = Client(enforce_csrf_checks=True)
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    response = client.post(url, valid_form_data())
    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_it_renders_an_accessible_form(client: Client, page: LandingPage) -> None:
    html = client.get(reverse("capture:landing_page", kwargs={"slug": page.slug})).content.decode()
    assert re.search(r'<label\s+for="id_email"', html)
    assert 'autocomplete="email"' in html
    assert 'name="time_zone"' in html
    assert "vendor/bootstrap-5.3.9/bootstrap.min.css" in html
    assert "https://" not in re.sub(r'href="https://[^"]*"', "", html), "no third-party assets"
    assert page.headline in html and "<strong>short</strong>" in html


def test_it_carries_utm_parameters_and_referrer(client: Client, submit: Any) -> None:
    campaign = CampaignFactory(utm_campaign="spring")
    page = LandingPageFactory()
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    html = client.get(
        url + "?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=crm&utm_content=a",
        HTTP_REFERER="https://www.google.com/search?q=crm",
    ).content.decode()
    hidden = dict(re.findall(r'type="hidden" name="(utm_\w+|referrer)" value="([^"]*)"', html))
    assert hidden == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "crm",
        "utm_content": "a",
        "referrer": "https://www.google.com/search?q=crm",
    }

    submit(page, **hidden)

    submission = Submission.objects.get()
    assert (submission.utm_source, submission.utm_medium, submission.utm_campaign) == (
        "google",
        "cpc",
        "spring",
    )
    assert (submission.utm_term, submission.utm_content) == ("crm", "a")
    assert submission.referrer == "https://www.google.com/search?q=crm"
    assert submission.campaign == campaign
    lead = Lead.objects.get()
    assert (lead.source, lead.campaign) == ("google", campaign)


def test_it_attributes_to_the_page_campaign_without_a_known_utm(submit: Any) -> None:
    page = LandingPageFactory(campaign=CampaignFactory())
    submit(page, utm_campaign="unknown-key")
    assert Submission.objects.get().campaign == page.campaign


def test_it_drops_an_unknown_time_zone(submit: Any, page: LandingPage) -> None:
    assert submit(page, time_zone="Mars/Olympus_Mons").status_code == 302
    assert Lead.objects.get().time_zone == ""


def test_it_clips_overlong_tracking_values(submit: Any, page: LandingPage) -> None:
    assert submit(page, utm_source="x" * 5000, referrer="r" * 9000).status_code == 302
    submission = Submission.objects.get()
    assert len(submission.utm_source) == 100 and len(submission.referrer) == 2000


def test_a_repeat_submission_fills_blanks_and_never_blanks_a_value(
    submit: Any, page: LandingPage
) -> None:
    submit(page, email="ada@example.com", phone="", job_title="CTO", utm_source="google")
    submit(
        page,
        email="  ADA@Example.com ",
        phone="+1 202 555 0143",
        job_title="",
        company="New Co",
        utm_source="linkedin",
        answer="Just researching",
    )

    lead = Lead.objects.get()
    assert lead.phone == "+12025550143", "a blank field is filled (in E.164)"
    assert lead.job_title == "CTO", "a blank never overwrites a value"
    assert lead.company == "New Co", "a newer value replaces an older one"
    assert lead.source == "google", "attribution stays first touch"
    assert lead.answers == {"When would you like to start?": "Just researching"}
    assert Submission.objects.filter(lead=lead).count() == 2
    assert Activity.objects.filter(lead=lead, kind="form_submitted").count() == 2


def test_it_redirects_to_the_page_redirect_url(submit: Any) -> None:
    page = LandingPageFactory(redirect_url="https://example.com/welcome")
    response = submit(page)
    assert response.status_code == 302 and response["Location"] == "https://example.com/welcome"


def test_an_unpublished_page_is_hidden_from_visitors(client: Client) -> None:
    page = LandingPageFactory(published=False)
    url = reverse("capture:landing_page", kwargs={"slug": page.slug})
    assert client.get(url).status_code == 404
    assert client.post(url, valid_form_data()).status_code == 404
    assert client.get("/l/no-such-page/").status_code == 404


def test_a_marketer_previews_an_unpublished_page(client: Client) -> None:
    page = LandingPageFactory(published=False)
    client.force_login(marketer())
    response = client.get(reverse("capture:landing_page", kwargs={"slug": page.slug}))
    assert response.status_code == 200
    assert "Preview: this page is not published yet." in response.content.decode()
    page.refresh_from_db()
    assert page.view_count == 0, "previews are not counted as views"


def test_it_counts_views(client: Client, page: LandingPage) -> None:
    for _ in range(3):
        client.get(reverse("capture:landing_page", kwargs={"slug": page.slug}))
    page.refresh_from_db()
    assert page.view_count == 3


def test_the_embed_may_be_framed_by_listed_origins_only(client: Client) -> None:
    page = LandingPageFactory(embed_origins="https://www.example.com\nhttps://shop.example.com")
    response = client.get(reverse("capture:embed", kwargs={"slug": page.slug}))
    assert response.status_code == 200
    # The site's whole policy, with the listed origins as the only framing ancestors.
    directives = dict(
        d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";")
    )
    assert directives["frame-ancestors"] == (
        "'self' https://www.example.com https://shop.example.com"
    )
    assert directives["script-src"] == "'self'"
    assert "X-Frame-Options" not in response
    landing = client.get(reverse("capture:landing_page", kwargs={"slug": page.slug}))
    assert landing["X-Frame-Options"] == "DENY"


def test_the_embed_captures_without_a_csrf_cookie(page: LandingPage) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("capture:embed", kwargs={"slug": page.slug}), valid_form_data())
    assert response.status_code == 302
    thanks_url = reverse("capture:thanks_embed", kwargs={"slug": page.slug})
    assert response["Location"].startswith(thanks_url + "?t=")
    assert Lead.objects.count() == 1
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and "frame-ancestors" in thanks["Content-Security-Policy"]


def test_page_copy_is_sanitised(client: Client) -> None:
    page = LandingPageFactory(
        body='Hello <script>alert(1)</script><a href="javascript:alert(1)" onclick="x()">x</a>',
        headline='<img src=x onerror="alert(1)">',
    )
    html = client.get(reverse("capture:landing_page", kwargs={"slug": page.slug})).content.decode()
    assert "<script>alert" not in html
    assert "javascript:" not in html and "onclick" not in html
    assert "&lt;img src=x onerror=" in html
