"""Issue 16, the marketer and the prospect: a branded page built with a live preview, and a
short form whose button is above the fold on a laptop and which starts on a phone's first
screen; its thank-you page's next step is the lead's own booking calendar."""

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from capture.branding import PRESETS
from capture.models import LandingPage, Lead
from tests.e2e.conftest import DEMO_PASSWORD, PHONE_AGENT, USER_AGENT, check_a11y, watch
from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db(transaction=True)
PREVIEW = "iframe[title='Live preview of the landing page']"


def _png(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A vertical gradient PNG, written by hand (Pillow is not in the lock)."""
    rows = b""
    for y in range(height):
        shade = bytes(
            round(a + (b - a) * y / max(height - 1, 1)) for a, b in zip(top, bottom, strict=True)
        )
        rows += b"\0" + shade * width
    return _encode_png(width, height, rows)


def _logo() -> bytes:
    """A stand-in logo: three rising white bars on navy (pixels by hand, as above)."""
    width, height, navy, white = 144, 48, b"\x1a\x23\x7e", b"\xff\xff\xff"
    bars = [(12, 30), (30, 20), (48, 10)]  # (left edge, top) of 12-px-wide bars
    rows = b""
    for y in range(height):
        row = b"".join(
            white if any(x0 <= x < x0 + 12 and top <= y < 40 for x0, top in bars) else navy
            for x in range(width)
        )
        rows += b"\0" + row
    return _encode_png(width, height, rows)


def _encode_png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _log_in(page: Page, url: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Landing pages")).to_be_visible()


def test_a_marketer_builds_a_branded_page_with_a_live_preview(
    live_server: Any,
    browser: Browser,
    page: Page,
    demo: None,
    settings: Any,
    tmp_path: Path,
    screenshot_dir: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    page.set_viewport_size({"width": 1366, "height": 900})
    _log_in(page, live_server.url)

    # A brand: logo and colours. A yellow button gets black text, which reads on it.
    page.goto(f"{live_server.url}/admin/capture/brand/add/")
    page.locator("#id_name").fill("Northwind")
    page.locator("#id_logo").set_input_files(
        files=[
            {
                "name": "logo.png",
                "mimeType": "image/png",
                "buffer": _logo(),
            }
        ]
    )
    page.locator("#id_primary_color").fill("#ffd500")
    page.locator("#id_background_color").fill("#fffbea")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    # A new page starts from the consultation preset, and the preview shows it at once.
    page.goto(f"{live_server.url}/admin/capture/landingpage/add/")
    frame = page.frame_locator(PREVIEW)
    consultation = PRESETS["consultation"]
    expect(frame.get_by_role("heading", level=1)).to_have_text(str(consultation["headline"]))
    expect(frame.get_by_label("Phone")).to_be_visible()  # asked on consultation pages
    # Another type fills its own copy and fields; the preview follows.
    page.locator("#id_kind").select_option("download")
    expect(page.locator("#id_headline")).to_have_value("Get the guide")
    expect(frame.get_by_role("button", name="Send me the guide")).to_be_visible()
    expect(frame.get_by_label("Phone")).to_have_count(0)
    page.locator("#id_title").press_sequentially("Pipeline guide")
    expect(page.locator("#id_slug")).to_have_value("pipeline-guide")
    page.locator("#id_headline").fill("The 12-page guide to a fuller pipeline")
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "The 12-page guide to a fuller pipeline"
    )
    page.locator("#id_body").fill("What **works**, with examples you can copy.")
    expect(frame.locator(".lf-copy strong")).to_have_text("works")
    # The brand, and a hero image not saved anywhere yet.
    page.locator("#id_brand").select_option(label="Northwind")
    expect(frame.get_by_role("img", name="Northwind")).to_be_visible()
    button = frame.get_by_role("button", name="Send me the guide")
    expect(button).to_have_css("background-color", "rgb(255, 213, 0)")
    expect(button).to_have_css("color", "rgb(0, 0, 0)")
    page.locator("#id_hero_image").set_input_files(
        files=[
            {
                "name": "hero.png",
                "mimeType": "image/png",
                "buffer": _png(800, 260, (255, 224, 130), (255, 143, 0)),
            }
        ]
    )
    page.locator("#id_hero_alt").fill("A pipeline chart going up")
    expect(frame.get_by_role("img", name="A pipeline chart going up")).to_be_visible()
    # One control per field: shown, required or hidden.
    page.locator("#id_ask_company").select_option("required")
    expect(frame.get_by_label("Company")).to_be_visible()
    page.locator("#id_next_step_url").fill("https://files.example.com/guide.pdf")
    # Bad input shows in the preview by name; nothing has been saved all this time.
    page.locator("#id_next_step_url").fill("javascript:alert(1)")
    expect(frame.get_by_role("alert")).to_contain_text("Next step link: Enter a valid URL.")
    page.locator("#id_next_step_url").fill("https://files.example.com/guide.pdf")
    expect(frame.get_by_role("alert")).to_have_count(0)
    assert not LandingPage.objects.filter(slug="pipeline-guide").exists()
    # The preview at a laptop's width, scaled into the panel.
    page.get_by_role("button", name="Laptop").click()
    expect(page.get_by_role("button", name="Laptop")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(PREVIEW)).to_have_attribute("data-width", "1366")
    check_a11y(page, "landing page form with its live preview")
    page.locator("#id_headline").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -40)")
    page.screenshot(path=screenshot_dir / "landing-page-preview.png")

    page.locator("#id_published").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    saved = LandingPage.objects.get(slug="pipeline-guide")
    assert (saved.kind, saved.fields_required, saved.brand.name) == (  # type: ignore[union-attr]
        "download",
        ["first_name", "company"],
        "Northwind",
    )
    assert saved.hero_image.name.startswith("capture/landing/")
    # The list of pages fits a 1366 px laptop: no sideways scrolling.
    page.goto(f"{live_server.url}/admin/capture/landingpage/")
    expect(page.get_by_role("link", name="Pipeline guide")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    table = page.locator("#result_list").bounding_box()
    assert width <= 1366 and table is not None and table["x"] + table["width"] <= 1366, width
    check_a11y(page, "landing page list")
    page.screenshot(path=screenshot_dir / "admin-landing-pages-1366.png")

    # The prospect's page, on a laptop: the brand, the hero, and the button above the fold.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, user_agent=USER_AGENT)
    visitor = watch(context.new_page())
    visitor.goto(f"{live_server.url}/l/pipeline-guide/")
    expect(visitor.get_by_role("img", name="A pipeline chart going up")).to_be_visible()
    submit = visitor.get_by_role("button", name="Send me the guide")
    box = submit.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, f"button below the fold: {box}"
    check_a11y(visitor, "branded landing page")
    visitor.screenshot(path=screenshot_dir / "landing-page-branded.png")
    visitor.get_by_label("Work email").fill("reader@example.com")
    visitor.get_by_label("First name").fill("Rita")
    visitor.get_by_label("Company").fill("Fieldstone")
    visitor.get_by_role("radio", name="Converting leads").check()
    submit.click()
    expect(visitor.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(visitor.get_by_role("link", name="Download the guide")).to_have_attribute(
        "href", "https://files.example.com/guide.pdf"
    )
    check_a11y(visitor, "branded thank-you page")
    assert Lead.objects.get(email="reader@example.com").company == "Fieldstone"
    assert visitor.console_errors == []  # type: ignore[attr-defined]
    context.close()


def _consultation_page() -> LandingPage:
    preset = {k: v for k, v in PRESETS["consultation"].items() if k != "fields"}
    return LandingPageFactory(
        slug="talk-to-us",
        title="Free consultation",
        kind="consultation",
        fields_shown=["first_name", "phone"],
        fields_required=["first_name"],
        fields_later=["company", "job_title"],
        consent_text="I agree to receive emails about my inquiry.",
        **preset,
    )


def test_the_short_form_fits_a_laptop_and_a_phone_and_books_from_the_thank_you_page(
    live_server: Any, browser: Browser, demo: None, screenshot_dir: Path
) -> None:
    landing = _consultation_page()
    url = f"{live_server.url}/l/{landing.slug}/"

    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, user_agent=USER_AGENT)
    page = watch(laptop.new_page())
    page.goto(url)
    box = page.get_by_role("button", name="Book my free consultation").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, f"below the fold: {box}"
    check_a11y(page, "consultation page on a laptop")
    assert page.console_errors == []  # type: ignore[attr-defined]
    laptop.close()

    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        user_agent=PHONE_AGENT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = watch(phone.new_page())
    page.goto(url)
    email = page.get_by_label("Work email")
    box = email.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844, (
        f"form below the first screen: {box}"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    check_a11y(page, "consultation page on a phone")
    page.screenshot(path=screenshot_dir / "landing-page-phone-short.png")
    email.fill("quick.booker@example.com")
    page.get_by_label("First name").fill("Quinn")
    page.get_by_role("radio", name="Within a month").check()
    page.get_by_label("I agree to receive emails").check()
    page.get_by_role("button", name="Book my free consultation").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check_a11y(page, "consultation thank-you on a phone")
    page.screenshot(path=screenshot_dir / "landing-page-thanks-booking.png")
    # The lead's own booking calendar (its signed link) is right there, in the page.
    calendar = page.frame_locator("iframe[title='Pick a time now: the booking calendar']")
    expect(calendar.get_by_role("heading").first).to_be_visible()
    frame = page.locator("iframe.lf-booking-frame").bounding_box()
    assert frame is not None and frame["width"] <= 390, (
        f"the calendar is wider than the phone: {frame}"
    )
    page.screenshot(path=screenshot_dir / "landing-page-thanks-booking-full.png", full_page=True)
    page.get_by_role("link", name="Open the calendar on its own page").click()
    expect(page).to_have_url(re.compile(r"/book/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Back on the page later: asked what we do not have yet, not the same fields again.
    page.goto(url)
    # (The phone they skipped is asked again; the name they gave makes room for the company.)
    expect(page.get_by_label("Phone")).to_be_visible()
    expect(page.get_by_label("Company")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_count(0)
    expect(page.get_by_label("Job title")).to_have_count(0)
    expect(page.get_by_role("radio", name="Within a month")).to_have_count(0)
    expect(page.get_by_label("Work email")).to_have_value("")  # nothing prefilled
    check_a11y(page, "the form for a returning lead")
    page.screenshot(path=screenshot_dir / "landing-page-returning-lead.png")
    page.get_by_label("Work email").fill("quick.booker@example.com")
    page.get_by_label("Company").fill("Fieldstone")
    page.get_by_label("I agree to receive emails").check()
    page.get_by_role("button", name="Book my free consultation").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get(email="quick.booker@example.com")
    assert (lead.first_name, lead.company) == ("Quinn", "Fieldstone")
    assert page.console_errors == []  # type: ignore[attr-defined]
    phone.close()
