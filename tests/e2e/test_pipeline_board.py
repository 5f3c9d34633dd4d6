"""A rep moves leads on the pipeline board in a real browser: one card by drag and drop
(SortableJS), one by keyboard with its "Move to" form, one refused move that snaps back.
Each move is the stage service's: the stage in the database and its audit row."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from capture.models import Lead
from sales.models import LeadChange
from tests.e2e.conftest import DEMO_PASSWORD, check_a11y, drop_expected
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _column(page: Page, stage: str) -> Any:
    return page.locator(f'.lf-board-cards[data-stage="{stage}"]')


def _count(page: Page, stage: str) -> Any:
    return page.locator(f'section:has(.lf-board-cards[data-stage="{stage}"]) .lf-count')


def test_rep_drags_a_card_and_moves_one_by_keyboard(
    live_server: Any, page: Page, demo: None, screenshot_dir: Path
) -> None:
    rep = User.objects.get(username="sales")
    ready = Lead.Stage.SALES_READY
    ada = LeadFactory(
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        stage=ready,
        score=88,
        temperature="hot",
        owner=rep,
    )
    grace = LeadFactory(
        first_name="Grace",
        last_name="Hopper",
        company="COBOL Ltd",
        stage=ready,
        score=64,
        temperature="warm",
    )
    before = {stage: Lead.objects.filter(stage=stage).count() for stage in Lead.Stage.values}

    page.goto(f"{live_server.url}/sales/")
    page.get_by_label("Username").fill("sales")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline")
    ada_card = page.locator(f'.lf-card[data-lead="{ada.pk}"]')
    expect(ada_card).to_contain_text("Analytical Engines")
    expect(ada_card).to_contain_text("88")
    expect(ada_card).to_contain_text("Hot")
    expect(ada_card).to_contain_text("sales")
    check_a11y(page, "pipeline board")
    page.screenshot(path=str(screenshot_dir / "pipeline-board.png"), full_page=True)

    # Drag and drop: Ada from "Sales ready" to "Contacted" (once board.js takes drops).
    expect(page.locator("#board")).to_have_attribute("data-ready", "true")
    ada_card.drag_to(_column(page, "contacted"))
    expect(page.locator("#board-status")).to_have_text("Ada Lovelace moved to Contacted.")
    expect(_column(page, "contacted").locator(f'[data-lead="{ada.pk}"]')).to_have_count(1)
    expect(_count(page, "contacted")).to_have_text(str(before["contacted"] + 1))
    expect(_count(page, "sales_ready")).to_have_text(str(before["sales_ready"] - 1))
    assert Lead.objects.get(pk=ada.pk).stage == "contacted"
    change = LeadChange.objects.get(lead=ada)
    assert (change.field, change.old_value, change.new_value, change.actor) == (
        "stage",
        "sales_ready",
        "contacted",
        rep,
    )

    # A refused drop (into "New": not a stage a rep moves to) snaps back with the reason.
    ada_card.drag_to(_column(page, "new"))
    expect(page.locator("#board-error")).to_have_text(
        "Choose a stage: contacted, booked, won or lost."
    )
    expect(_column(page, "contacted").locator(f'[data-lead="{ada.pk}"]')).to_have_count(1)
    expect(_count(page, "new")).to_have_text(str(before["new"]))
    drop_expected(page, "/move/")
    assert LeadChange.objects.filter(lead=ada).count() == 1

    # Keyboard only: Grace to "Lost", which needs a reason.
    grace_card = page.locator(f'.lf-card[data-lead="{grace.pk}"]')
    summary = grace_card.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the form opened: its "Move to" select is next
    expect(grace_card.get_by_label("Move to")).to_be_focused()
    grace_card.get_by_label("Move to").select_option("lost")
    page.keyboard.press("Tab")
    page.keyboard.type("Chose an in-house tool")
    page.keyboard.press("Enter")
    expect(page.locator("#board-status")).to_have_text("Grace Hopper moved to Lost.")
    expect(_column(page, "lost").locator(f'[data-lead="{grace.pk}"]')).to_have_count(1)
    expect(_count(page, "lost")).to_have_text(str(before["lost"] + 1))
    expect(grace_card.get_by_role("link", name="Grace Hopper")).to_be_focused()
    assert Lead.objects.get(pk=grace.pk).stage == "lost"
    change = LeadChange.objects.get(lead=grace)
    assert (change.old_value, change.new_value, change.reason, change.actor) == (
        "sales_ready",
        "lost",
        "Chose an in-house tool",
        rep,
    )
    check_a11y(page, "pipeline board after moves")
    page.screenshot(path=str(screenshot_dir / "pipeline-board-moved.png"), full_page=True)
