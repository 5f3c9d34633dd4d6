"""A rep filters the dashboard, saves the filters as a shared view, and a colleague opens it."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, expect

from leadfunnel.groups import SALES_REPS
from tests.e2e.conftest import USER_AGENT, check_a11y, watch
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _rep(name: str) -> User:
    user = User.objects.create_user(name, password="correct-horse-battery", first_name=name.title())
    user.groups.add(Group.objects.get(name=SALES_REPS))
    return user


def _signed_in(browser: Browser, url: str, username: str) -> Any:
    context = browser.new_context(user_agent=USER_AGENT, viewport={"width": 1366, "height": 900})
    page = watch(context.new_page())
    page.goto(f"{url}/sales/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    return page


def test_a_rep_saves_a_shared_view_and_a_colleague_opens_it(
    live_server: Any, browser: Browser, screenshot_dir: Path
) -> None:
    _rep("ann"), _rep("ben")
    LeadFactory(email="hot@linkedin.example", temperature="hot", source="linkedin")
    LeadFactory(email="warm@google.example", temperature="warm", source="google")
    ann = _signed_in(browser, live_server.url, "ann")
    ann.goto(f"{live_server.url}/sales/?temperature=hot&source=linkedin")
    ann.get_by_label("Name this view").fill("Hot from LinkedIn")
    ann.get_by_label("Share with the team").check()
    ann.get_by_role("button", name="Save view").click()
    expect(ann.get_by_text("Saved the view “Hot from LinkedIn”.")).to_be_visible()
    expect(ann.get_by_role("navigation", name="Saved views")).to_contain_text("Hot from LinkedIn")
    check_a11y(ann, "dashboard with a saved view")
    ann.screenshot(path=screenshot_dir / "e2e-saved-views.png")

    ben = _signed_in(browser, live_server.url, "ben")
    ben.get_by_role("navigation", name="Saved views").get_by_role(
        "link", name="Hot from LinkedIn"
    ).click()
    expect(ben.locator("#leads")).to_contain_text("hot@linkedin.example")
    expect(ben.locator("#leads")).not_to_contain_text("warm@google.example")
    for page in (ann, ben):
        assert page.console_errors == [], page.console_errors
        page.context.close()
