"""The dashboard's Speed to lead table on a 390 px phone: every column on screen, none cut
off behind a scroll nobody sees (rendered in Chromium with the app's own CSS)."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Route

from sales.services.handoff import open_handoff
from tests.e2e.conftest import _chromium
from tests.factories import LeadFactory
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
STATIC = Path(__file__).resolve().parents[2] / "static"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield from _chromium()


def _serve_static(route: Route) -> None:
    path = STATIC / route.request.url.split("/static/", 1)[1]
    route.fulfill(path=str(path)) if path.is_file() else route.fulfill(status=404)


def test_the_speed_to_lead_table_fits_a_phone(
    chromium: Browser, django_capture_on_commit_callbacks: Any
) -> None:
    reps = [make_rep(name) for name in ("annabelle", "christopher", "bob")]
    for rep in reps:
        lead = LeadFactory(temperature="hot", score=82, owner=rep)
        with django_capture_on_commit_callbacks(execute=True):
            open_handoff(lead_id=lead.pk, now=timezone.now() - timedelta(minutes=30))
    client = Client()
    client.force_login(reps[0])
    html = client.get("/sales/").content.decode()

    page = chromium.new_page(viewport=PHONE, is_mobile=True)
    page.route("**/static/**", _serve_static)
    page.route("http://app.test/", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto("http://app.test/")
    table = page.locator("#speed-table")
    table.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#speed-section").screenshot(path=str(SHOTS / "speed-to-lead-phone.png"))

    box = page.evaluate(
        "(() => { const t = document.querySelector('#speed-table');"
        " return [t.scrollWidth, t.parentElement.clientWidth]; })()"
    )
    assert box[0] <= box[1], f"the table is {box[0]} px wide in a {box[1]} px box"
    overdue = page.locator("#speed-table thead th").last
    assert overdue.is_visible() and overdue.inner_text() == "Overdue"
    right = overdue.bounding_box()
    assert right is not None and right["x"] + right["width"] <= PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.close()
