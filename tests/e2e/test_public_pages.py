"""The public pages no journey above passes through: double opt-in confirmation, and the
answers to a broken or expired link. Accessible, and no console errors."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from capture.models import LandingPage, Lead
from capture.services import Tracking, capture_submission
from nurture.tokens import confirm_token
from tests.e2e.conftest import check_a11y, drop_expected

pytestmark = pytest.mark.django_db(transaction=True)


def test_double_opt_in_confirmation_and_bad_links(live_server: Any, page: Page, demo: None) -> None:
    landing = LandingPage.objects.get(slug="free-consultation")
    landing.double_opt_in = True
    landing.save(update_fields=["double_opt_in"])
    capture_submission(
        page=landing,
        data={"email": "optin@example.com", "first_name": "Otto"},
        tracking=Tracking(),
        consent_given=True,
    )
    lead = Lead.objects.get(email="optin@example.com")

    page.goto(f"{live_server.url}/c/{confirm_token(lead_id=lead.pk, lead_uid=lead.uid)}/")
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    check_a11y(page, "confirm page")
    page.get_by_role("button", name="Yes, confirm").click()
    expect(page.get_by_role("heading", name="Thank you, you are confirmed")).to_be_visible()
    check_a11y(page, "confirmed page")

    # Tampered links get a clear page and a 4xx.
    for path in ("/u/not-a-token/", "/book/not-a-token/"):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_a11y(page, f"invalid link page {path}")
    drop_expected(page, "400 ", "404 ", "status of 400", "status of 404")
