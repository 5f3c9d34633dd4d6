"""Short forms, progressive profiling, branding, the live preview and the thank-you page's
next step (issue 16, landing pages and forms)."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from capture.branding import PRESETS, contrast_ratio, look_for, text_color_on
from capture.models import Brand, LandingPage, Lead
from capture.tracking import COOKIE_NAME, lead_uid_for_tracking_token, tracking_token
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory, marketer

pytestmark = pytest.mark.django_db
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def marketer_client(client: Client) -> Client:
    client.force_login(marketer())
    return client


def _form_fields(html: str) -> list[str]:
    names = re.findall(r'<(?:input|select)[^>]*name="([a-z_]+)"', html)
    hidden = {
        "csrfmiddlewaretoken",
        "website",
        "started",
        "email_checked",
        "referrer",
        "time_zone",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "submit",
    }
    return list(dict.fromkeys(name for name in names if name not in hidden))


def _consultation(**overrides: Any) -> LandingPage:
    values = {
        "fields_shown": ["first_name", "phone"],
        "fields_required": ["first_name"],
        "fields_later": ["company", "job_title"],
        "consent_text": "",
        "kind": LandingPage.Kind.CONSULTATION,
        **overrides,
    }
    return LandingPageFactory(**values)


# --- progressive profiling ----------------------------------------------------------------


def test_it_asks_a_new_visitor_the_short_form(client: Client) -> None:
    page = _consultation()
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert _form_fields(html) == ["email", "first_name", "phone", "sms_consent", "answer"]


def test_it_asks_a_returning_lead_what_we_do_not_have_yet(client: Client) -> None:
    page = _consultation()
    lead = LeadFactory(
        email="known@example.com",
        first_name="Ada",
        phone="+442079460000",
        company="",
        job_title="",
        answers={page.qualifying_question: "Within a month"},
    )
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid)
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert _form_fields(html) == ["email", "company", "job_title"]
    # Nothing of the lead is written into the page: the browser may be a shared one.
    assert "known@example.com" not in html and "Ada" not in html and "7946" not in html

    response = client.post(
        f"/l/{page.slug}/",
        valid_form_data(
            email="known@example.com",
            first_name=None,
            phone=None,
            answer=None,
            consent=None,
            company="Analytical",
            job_title="CTO",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    lead.refresh_from_db()
    assert (lead.first_name, lead.company, lead.job_title) == ("Ada", "Analytical", "CTO")


def test_a_signed_link_from_an_email_recognises_the_lead_and_sets_the_cookie(
    client: Client,
) -> None:
    page = _consultation()
    lead = LeadFactory(first_name="Ada", phone="+442079460000")
    token = tracking_token(lead.uid)
    response = client.get(f"/l/{page.slug}/?lf={token}")
    assert _form_fields(response.content.decode()) == ["email", "company", "job_title", "answer"]
    # A fresh token for the same lead (its signature carries the second it was made).
    assert lead_uid_for_tracking_token(response.cookies[COOKIE_NAME].value) == lead.uid
    tampered = Client().get(f"/l/{page.slug}/?lf={token[:-1]}x")
    assert "first_name" in _form_fields(tampered.content.decode())
    assert COOKIE_NAME not in tampered.cookies


def test_the_cookie_as_track_js_renews_it_still_names_the_lead(client: Client) -> None:
    page = _consultation()
    lead = LeadFactory(first_name="Ada", phone="+442079460000")
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid).replace(":", "%3A")
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert _form_fields(html) == ["email", "company", "job_title", "answer"]


def test_a_forged_or_missing_cookie_gets_the_new_visitors_form(client: Client) -> None:
    page = _consultation()
    lead = LeadFactory(first_name="Ada", phone="+442079460000")
    client.cookies[COOKIE_NAME] = tracking_token(lead.uid)[:-2] + "xx"
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert _form_fields(html) == ["email", "first_name", "phone", "sms_consent", "answer"]


# --- thank-you page: the next step -------------------------------------------------------


def test_a_consultation_thank_you_page_links_the_lead_to_its_own_booking(
    client: Client, settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    page = _consultation(thank_you_note="Talk soon.")
    response = client.post(f"/l/{page.slug}/", valid_form_data(email="booker@example.com"))
    assert response.status_code == 302
    thanks = client.get(response["Location"])
    html = thanks.content.decode()
    frame = re.search(
        r'<iframe class="lf-booking-frame" src="(/book/[^"/]+/)\?embed=1" '
        r'title="Pick a time now: the booking calendar">',
        html,
    )
    assert frame, html
    assert f'<a href="http://testserver{frame.group(1)}">Open the calendar' in html
    lead = Lead.objects.get(email="booker@example.com")
    booking = client.get(frame.group(1) + "?embed=1")
    assert booking.status_code == 200
    assert booking["X-Frame-Options"] == "SAMEORIGIN", "booking lets this site frame it"
    assert "Talk soon." in html
    # Without the signed token (a bot's thank-you, a forged one) there is no calendar.
    for url in (f"/l/{page.slug}/thanks/", f"/l/{page.slug}/thanks/?t=forged"):
        assert "/book/" not in client.get(url).content.decode()
    assert lead.first_name == "Ada"


def test_a_download_page_shows_its_own_next_step(client: Client) -> None:
    page = LandingPageFactory(
        kind=LandingPage.Kind.DOWNLOAD,
        next_step_label="Get the PDF",
        next_step_url="https://files.example.com/guide.pdf",
    )
    response = client.post(f"/l/{page.slug}/", valid_form_data())
    assert response["Location"] == f"/l/{page.slug}/thanks/", "no lead token where none is used"
    html = client.get(f"/l/{page.slug}/thanks/").content.decode()
    assert (
        '<a class="btn btn-primary btn-lg lf-next-step" href="https://files.example.com/guide.pdf"'
        in html
    )
    assert ">Get the PDF<" in html and "/book/" not in html


# --- branding ----------------------------------------------------------------------------


def test_text_on_a_brand_colour_is_the_readable_one() -> None:
    assert text_color_on("#ffd500") == "#000000"
    assert text_color_on("#1a237e") == "#ffffff"
    for colour in ("#0d6efd", "#ffd500", "#1a237e", "#777777", "#00ff00"):
        assert contrast_ratio(colour, text_color_on(colour)) >= 4.5


def test_a_colour_that_is_not_rrggbb_never_reaches_the_page(client: Client) -> None:
    # Written past validation (SQL, an old row): the page falls back to the default colour.
    brand = Brand.objects.create(name="Evil", primary_color="#000000")
    Brand.objects.filter(pk=brand.pk).update(primary_color='"><b>xy')
    page = LandingPageFactory(brand=brand)
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert "<b>xy" not in html and "&lt;b&gt;xy" not in html
    assert "--lf-primary: #0b5ed7" in html
    assert look_for(brand=Brand.objects.get()).primary == "#0b5ed7"


def test_the_site_wide_brand_applies_to_pages_without_their_own(client: Client) -> None:
    Brand.objects.create(
        name="Acme",
        primary_color="#1A237E",
        is_default=True,
        logo=SimpleUploadedFile("logo.png", PNG),
    )
    page = LandingPageFactory()
    html = client.get(f"/l/{page.slug}/").content.decode()
    assert "--lf-primary: #1a237e; --lf-on-primary: #ffffff" in html
    assert f'src="/l/{page.slug}/image/logo/" alt="Acme"' in html
    image = client.get(f"/l/{page.slug}/image/logo/")
    assert image["Content-Type"] == "image/png" and image.content == PNG
    assert client.get(f"/l/{page.slug}/image/hero/").status_code == 404
    assert client.get(f"/l/{page.slug}/image/../settings/").status_code == 404


def test_a_second_site_wide_brand_is_refused_with_a_message(marketer_client: Client) -> None:
    Brand.objects.create(name="Acme", is_default=True)
    response = marketer_client.post(
        reverse("admin:capture_brand_add"),
        {
            "name": "Other",
            "primary_color": "#123456",
            "background_color": "#ffffff",
            "is_default": "on",
        },
    )
    assert response.status_code == 200
    assert "Another brand is already the site-wide default." in response.content.decode()
    assert Brand.objects.count() == 1


@pytest.mark.parametrize(
    ("upload", "colour", "message"),
    [
        (
            SimpleUploadedFile("x.png", b"<svg onload=alert(1)>"),
            "#123456",
            "Upload a PNG, JPEG, GIF or WebP image.",
        ),
        (SimpleUploadedFile("big.png", PNG + b"\0" * 2_000_001), "#123456", "the limit is 2 MB"),
        (SimpleUploadedFile("ok.png", PNG), "blue", "Enter a colour as #rrggbb"),
    ],
)
def test_the_brand_form_refuses_bad_images_and_colours(
    marketer_client: Client, upload: SimpleUploadedFile, colour: str, message: str
) -> None:
    response = marketer_client.post(
        reverse("admin:capture_brand_add"),
        {"name": "Acme", "logo": upload, "primary_color": colour, "background_color": "#ffffff"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Brand.objects.exists()


# --- the admin: presets, one control per field, the live preview, the list -----------------


def test_a_new_page_starts_from_the_consultation_preset_with_phone(
    marketer_client: Client,
) -> None:
    html = marketer_client.get(reverse("admin:capture_landingpage_add")).content.decode()
    assert PRESETS["consultation"]["headline"] in html
    assert re.search(r'name="ask_phone".*?<option value="optional" selected>', html, re.S)
    assert re.search(r'name="ask_first_name".*?<option value="required" selected>', html, re.S)
    download = marketer_client.get(reverse("admin:capture_landingpage_add") + "?kind=download")
    assert "Send me the guide" in download.content.decode()


def _preview_data(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "consultation",
        "title": "Consult",
        "slug": "consult",
        "headline": "Hello <b>world</b>",
        "body": "Plain *copy*",
        "cta_label": "Go",
        "ask_first_name": "required",
        "ask_company": "optional",
        "thank_you_text": "Thanks",
        **overrides,
    }


def test_the_live_preview_renders_unsaved_changes_and_saves_nothing(
    marketer_client: Client, settings: Any
) -> None:
    brand = Brand.objects.create(name="Acme", primary_color="#ffd500")
    url = reverse("admin:capture_landingpage_preview")
    hero = SimpleUploadedFile("hero.png", PNG)
    data = _preview_data(brand=brand.pk, hero_image=hero, hero_alt="A team")
    response = marketer_client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hello &lt;b&gt;world&lt;/b&gt;" in html, "marketer input is text, not markup"
    assert "<em>copy</em>" in html
    assert "--lf-primary: #ffd500; --lf-on-primary: #000000" in html
    assert 'src="data:image/png;base64,' in html and 'alt="A team"' in html
    assert 'name="company"' in html and 'name="job_title"' not in html
    assert "<script" not in html, "the preview frame runs nothing"
    # A relative image or link in the copy resolves as on the live page, not in the admin.
    assert f'<base href="/l/{data["slug"]}/">' in html
    assert not LandingPage.objects.exists()
    assert not list(Path(settings.MEDIA_ROOT).rglob("*")), "no upload stored"


def test_the_live_preview_of_a_saved_page_lists_what_is_not_valid_yet(
    marketer_client: Client,
) -> None:
    page = LandingPageFactory(headline="Saved headline")
    url = reverse("admin:capture_landingpage_preview", kwargs={"object_id": page.pk})
    data = _preview_data(slug=page.slug, headline="", next_step_url="javascript:alert(1)")
    response = marketer_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Saved headline" in html
    assert "Next step link: Enter a valid URL." in html
    page.refresh_from_db()
    assert page.headline == "Saved headline"


def test_the_live_preview_checks_csrf_and_permissions(client: Client) -> None:
    url = reverse("admin:capture_landingpage_preview")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer())
    assert strict.post(url, _preview_data()).status_code == 403
    assert client.post(url, _preview_data()).status_code == 302  # to the admin login


def test_the_landing_page_list_has_few_short_columns(marketer_client: Client) -> None:
    LandingPageFactory(title="Spring consultation", slug="spring", view_count=10)
    html = marketer_client.get(reverse("admin:capture_landingpage_changelist")).content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-([a-z_]+)', html)
    assert headers == ["page_title", "kind", "published", "conversion_rate", "open_link"]
    assert "Spring consultation<br><small>/l/spring/</small>" in html
    assert "0 / 10 · 0.0%" in html


def test_the_change_form_shows_the_stored_image_and_can_clear_it(marketer_client: Client) -> None:
    page = LandingPageFactory(hero_image=SimpleUploadedFile("hero.png", PNG), hero_alt="Team")
    url = reverse("admin:capture_landingpage_change", args=[page.pk])
    html = marketer_client.get(url).content.decode()
    assert '<img src="data:image/png;base64,' in html and 'alt="The current image"' in html
    assert page.hero_image.name not in html, "no link to the storage's own URL"
    assert 'name="hero_image-clear"' in html
