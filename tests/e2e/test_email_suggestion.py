"""A prospect who mistypes the email domain is offered the fix before sending the form."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_a11y
from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_typing_gmial_offers_gmail_and_one_click_fills_it_in(live_server: Any, page: Page) -> None:
    landing = LandingPageFactory()
    page.goto(f"{live_server.url}/l/{landing.slug}/")
    email = page.get_by_label("Work email")
    email.fill("ana@gmial.com")
    email.blur()
    hint = page.locator(".lf-email-hint")
    expect(hint).to_have_text("Did you mean ana@gmail.com?")
    check_a11y(page, "landing page with an email suggestion")
    hint.get_by_role("button", name="ana@gmail.com").click()
    expect(email).to_have_value("ana@gmail.com")
    expect(hint).to_have_text("")
    email.fill("ana@example.com")
    email.blur()
    expect(hint).to_have_text("")
