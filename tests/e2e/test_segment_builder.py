"""A marketer builds a segment in the admin: nested groups, the live count moving as the
conditions change, a refusal that says where, "show me 20 of them", and axe finding nothing
serious. Saved, the segment fills (the suite runs the refresh task eagerly)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from capture.models import Activity
from leadfunnel.groups import MARKETERS
from segments.models import Segment
from tests.e2e.conftest import check_a11y, drop_expected
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots_h6"
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "segment-builder.png"
PASSWORD = "correct-horse-battery"


def _leads() -> None:
    now = datetime.now(UTC)
    for index in range(4):
        lead = LeadFactory(temperature="hot", first_name=f"Hot{index}", score=20 + index * 10)
        if index < 2:  # two of them read the pricing page twice this week
            Activity.objects.bulk_create(
                Activity(
                    lead=lead,
                    kind="page_viewed",
                    occurred_at=now - timedelta(days=day),
                    metadata={"url": "https://example.com/pricing"},
                )
                for day in (1, 3)
            )
    for index in range(3):
        LeadFactory(temperature="cold", first_name=f"Cold{index}")


def _count(page: Page) -> Any:
    return page.locator("#segment-count .segment-count-number")


def test_marketer_builds_a_segment_with_a_live_count(live_server: Any, page: Page) -> None:
    _leads()
    user = UserFactory(is_staff=True, group=MARKETERS, username="marta")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.get_by_label("Name:").fill("Hot pricing readers")

    builder = page.locator("#segment-builder")
    expect(_count(page)).to_have_text("7")  # an empty root group: everyone
    builder.get_by_role("button", name="+ Condition").click()  # temperature is hot
    expect(_count(page)).to_have_text("4")

    # A nested OR group: score at least 40, or viewed the pricing page twice in 14 days.
    builder.get_by_role("button", name="+ Group").first.click()
    inner = builder.locator("fieldset.segment-group fieldset.segment-group")
    inner.locator(".segment-field").select_option("score")
    inner.locator(".segment-op").select_option("at_least")
    inner.locator(".segment-value").fill("40")
    expect(_count(page)).to_have_text("2")  # scores 40 and 50
    inner.get_by_role("button", name="+ Condition").click()
    row = inner.locator(".segment-row").nth(1)
    row.locator(".segment-field").select_option("activity")
    row.locator(".segment-kind").select_option("page_viewed")
    row.locator(".segment-count").fill("2")
    row.locator(".segment-url").fill("*/pricing*")
    row.locator(".segment-within-days").fill("14")
    expect(_count(page)).to_have_text("4")  # 40, 50, and the two pricing readers (20, 30)
    inner.locator("legend select").select_option("all")
    expect(_count(page)).to_have_text("0")
    inner.locator("legend select").select_option("any")
    expect(_count(page)).to_have_text("4")

    # A bad value: the count gives way to the reason, with where it is.
    inner.locator(".segment-row").nth(0).locator(".segment-value").fill("")
    expect(page.locator("#segment-count [role=alert]")).to_contain_text(
        "Condition 2.1: A score is a whole number."
    )
    drop_expected(page, "/admin/segments/segment/preview/")
    inner.locator(".segment-row").nth(0).locator(".segment-value").fill("40")
    expect(_count(page)).to_have_text("4")

    page.get_by_role("button", name="Show me 20 of them").click()
    table = page.locator("#segment-sample table")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("Hot3")
    expect(table).not_to_contain_text("Cold")
    check_a11y(page, "segment builder")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "segment-builder.png"), full_page=True)
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#content").screenshot(path=str(README_SHOT))

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    segment = Segment.objects.get(name="Hot pricing readers")
    assert segment.conditions["match"] == "all"
    assert json.dumps(segment.conditions).count('"match"') == 2
    assert segment.members.count() == 4

    # Removing the group widens it again; the builder reopens the saved tree as it was.
    page.goto(f"{live_server.url}/admin/segments/segment/{segment.pk}/change/")
    expect(_count(page)).to_have_text("4")
    page.locator("#segment-builder").get_by_role("button", name="Remove group").click()
    expect(_count(page)).to_have_text("4")  # just "hot" now: the same four
    page.locator("#segment-builder").get_by_role("button", name="Remove condition 1.1").click()
    expect(_count(page)).to_have_text("7")
