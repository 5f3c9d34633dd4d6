"""A rep works a day of tasks and moves a card on the board, on a phone and on a laptop.

On a 390×844 phone the leads (not the filters) fill the first screen and no page scrolls
sideways; the hand-off's "call within 5 minutes" is done with the call's outcome, which logs
the call; the lead page tells its story in words ("Google Ads · spring-push", "/pricing")
and dials the phone through a `tel:` link; a card moves by its "Move to" form. On a laptop
the filters are open, a task is done, and a card is dragged. Every page is axe-clean.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from capture.models import Activity, Lead, Submission
from sales.models import LeadChange, Note, RepProfile, Task
from sales.services.handoff import open_handoff
from sales.services.tasks import create_task
from tests.e2e.conftest import DEMO_PASSWORD, PHONE_AGENT, USER_AGENT, check_a11y, watch
from tests.factories import LandingPageFactory, LeadFactory
from tests.sales.support import make_activity

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots_h5"
PHONE = {"width": 390, "height": 844}


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/sales/")
    page.get_by_label("Username").fill("sales")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")


def _no_sideways_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width} px wide on a {width} px screen"


def _midday_zone() -> str:
    """A zone where it is about noon now, so the tasks due within the hour fall before the
    rep's midnight whatever the hour the suite runs at (at 23:40 UTC they would not)."""
    offset = 12 - timezone.now().hour  # local = UTC + offset, from -11 to +12 hours
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"  # Etc/GMT-5 is five hours east


def _rep_day(rep: User) -> tuple[Lead, Lead]:
    """A hot lead just handed off (with its call task), a lead to chase, and some history."""
    RepProfile.objects.filter(user=rep).update(time_zone=_midday_zone())
    ines = LeadFactory(
        first_name="Ines",
        last_name="Duarte",
        company="Acme Analytics",
        phone="+34 600 123 456",
        temperature="hot",
        score=86,
        owner=rep,
        stage=Lead.Stage.SALES_READY,
    )
    Submission.objects.create(
        lead=ines,
        landing_page=LandingPageFactory(title="Free consultation"),
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring-push",
    )
    make_activity(
        ines,
        Activity.Kind.PAGE_VIEWED,
        timezone.now() - timedelta(minutes=4),
        url="https://www.example.com/pricing?utm_source=google&utm_medium=cpc"
        "&utm_campaign=spring-push&gclid=EAIaIQobChMI",
    )
    open_handoff(lead_id=ines.pk)
    tom = LeadFactory(
        first_name="Tom",
        last_name="Baker",
        company="Baker & Sons",
        phone="020 7946 0018",
        owner=rep,
        stage=Lead.Stage.SALES_READY,
        temperature="warm",
        score=55,
    )
    now = timezone.now()
    create_task(lead_id=tom.pk, title="Send Tom the proposal", due_at=now - timedelta(hours=2))
    create_task(lead_id=tom.pk, title="Check Tom read it", due_at=now + timedelta(minutes=30))
    for number in range(12):  # a list long enough to fill a phone's screen
        LeadFactory(first_name=f"Lead{number}", last_name="Example", score=40 - number)
    return ines, tom


def test_a_rep_works_a_day_of_tasks_on_a_phone_and_moves_a_card(
    live_server: Any, browser: Browser, demo: None
) -> None:
    rep = User.objects.get(username="sales")
    ines, tom = _rep_day(rep)
    context = browser.new_context(
        viewport=PHONE,
        user_agent=PHONE_AGENT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    page = watch(context.new_page())
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_server.url)

    # The first screen is the leads: my tasks and the filters wait behind a line each, the
    # tasks' line counting the overdue one.
    expect(page.locator("#today-tasks")).to_contain_text("1 overdue · 3 due by tonight")
    expect(page.locator("#tasks-today")).to_be_hidden()
    expect(page.get_by_role("search", name="Filter leads")).to_be_hidden()
    leads_top = page.locator("#leads").bounding_box()
    assert leads_top is not None and leads_top["y"] < PHONE["height"] / 3, (
        f"the lead list starts at {leads_top} on an 844 px screen"
    )
    _no_sideways_scroll(page, PHONE["width"])
    check_a11y(page, "phone dashboard")
    page.screenshot(path=str(DOCS / "rep-day-phone.png"))

    # A tap opens my day, overdue first and highlighted.
    page.locator("#my-tasks summary").click()
    tasks = page.locator("#tasks-today > li")
    # Ines's call, Tom's two, and the call for the demo's own hot lead (Maria Gonzalez).
    expect(tasks).to_have_count(4)
    call = tasks.filter(has_text="Ines Duarte")
    expect(tasks.first).to_contain_text("Send Tom the proposal")  # the longest overdue first
    expect(tasks.first).to_contain_text("Overdue")
    assert "lf-task-overdue" in (tasks.first.get_attribute("class") or "")
    assert "lf-task-overdue" not in (call.get_attribute("class") or ""), "due in 5 minutes"
    expect(call.get_by_role("link", name="Call Ines Duarte on +34 600 123 456")).to_have_attribute(
        "href", "tel:+34600123456"
    )
    _no_sideways_scroll(page, PHONE["width"])
    check_a11y(page, "phone dashboard, tasks open")
    page.screenshot(path=str(SHOTS / "dashboard-phone-tasks.png"), full_page=True)

    # The filters open with a tap.
    page.locator("#filters summary").click()
    expect(page.get_by_role("search", name="Filter leads")).to_be_visible()

    # The hand-off call: done with its outcome, which logs the call on the lead.
    call.get_by_label("How it went: Call within 5 minutes: turned hot").select_option("Connected")
    call.get_by_role("button", name="Complete: Call within 5 minutes: turned hot").click()
    expect(page.locator("#tasks-today")).to_contain_text(
        "Done: Call within 5 minutes: turned hot (connected)"
    )
    note = Note.objects.get(lead=ines)
    assert (note.kind, note.outcome, note.author) == ("call", "connected", rep)

    # The lead page: no wider than the phone, the story in words, the phone a tel: link.
    page.get_by_role("link", name="Ines Duarte").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ines Duarte")
    _no_sideways_scroll(page, PHONE["width"])
    timeline = page.locator(".lf-timeline")
    expect(timeline).to_contain_text("Viewed /pricing")
    expect(timeline).to_contain_text("Google Ads · spring-push")
    expect(timeline).to_contain_text("Call: Connected")
    expect(timeline).not_to_contain_text("utm_")
    expect(page.get_by_role("link", name="+34 600 123 456")).to_have_attribute(
        "href", "tel:+34600123456"
    )
    check_a11y(page, "phone lead page")
    page.screenshot(path=str(SHOTS / "lead-phone-full.png"), full_page=True)

    # The board on a phone: Tom moved to Contacted with his card's "Move to" form.
    page.goto(f"{live_server.url}/sales/board/")
    card = page.locator(f'.lf-card[data-lead="{tom.pk}"]')
    card.locator("summary").click()
    card.get_by_label("Move to").select_option("contacted")
    card.get_by_role("button", name="Move").click()
    expect(page.locator("#board-status")).to_have_text("Tom Baker moved to Contacted.")
    _no_sideways_scroll(page, PHONE["width"])
    check_a11y(page, "phone board")
    page.screenshot(path=str(SHOTS / "board-phone.png"))
    assert Lead.objects.get(pk=tom.pk).stage == Lead.Stage.CONTACTED
    change = LeadChange.objects.get(lead=tom, field="stage")
    assert (change.old_value, change.new_value, change.actor) == ("sales_ready", "contacted", rep)
    context.close()
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def test_a_rep_works_a_day_of_tasks_on_a_laptop_and_drags_a_card(
    live_server: Any, page: Page, demo: None
) -> None:
    rep = User.objects.get(username="sales")
    ines, tom = _rep_day(rep)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.evaluate("navigator.userAgent") == USER_AGENT
    _sign_in(page, live_server.url)

    # On a laptop the filters are open beside each other, above the list.
    expect(page.get_by_role("search", name="Filter leads")).to_be_visible()
    tasks = page.locator("#tasks-today > li")
    expect(tasks).to_have_count(4)
    check_a11y(page, "laptop dashboard")
    page.locator("#my-tasks").screenshot(path=str(DOCS / "rep-tasks.png"))

    # An ordinary task is simply done; the call task refuses to be done without an outcome.
    proposal = tasks.filter(has_text="Send Tom the proposal")
    proposal.get_by_role("button", name="Complete: Send Tom the proposal").click()
    expect(page.locator("#tasks-today")).to_contain_text("Done: Send Tom the proposal")
    done = Task.objects.get(title="Send Tom the proposal")
    assert (done.outcome, done.completed_by) == ("done", rep)
    assert not Note.objects.filter(lead=tom).exists(), "a plain task logs no call"
    call = tasks.filter(has_text="Ines Duarte")
    call.get_by_role("button", name="Complete: Call within 5 minutes: turned hot").click()
    assert call.get_by_label("How it went: Call within 5 minutes: turned hot").evaluate(
        "select => !select.validity.valid"
    ), "the browser asks how the call went first"
    assert Task.objects.get(lead=ines).completed_at is None

    # Tom's page: his open task, completed there with a call's outcome and notes.
    page.locator("#tasks-today").get_by_role("link", name="Tom Baker").first.click()
    follow_up = page.locator("#open-tasks > li", has_text="Check Tom read it")
    follow_up.get_by_label("How it went: Check Tom read it").select_option("No answer")
    follow_up.get_by_label("Call notes: Check Tom read it").fill("Rang twice, no pick-up")
    page.screenshot(path=str(SHOTS / "lead-laptop.png"), full_page=True)
    follow_up.get_by_role("button", name="Complete: Check Tom read it").click()
    expect(page.locator("#done-tasks")).to_contain_text("Check Tom read it · No answer")
    expect(page.locator(".lf-timeline")).to_contain_text("Call: No answer")
    expect(page.locator(".lf-timeline")).to_contain_text("Rang twice, no pick-up")
    check_a11y(page, "laptop lead page")
    page.get_by_role("link", name="Pipeline").click()

    # The board: Ines dragged from "Sales ready" to "Contacted".
    ines_card = page.locator(f'.lf-card[data-lead="{ines.pk}"]')
    expect(
        ines_card.get_by_role("link", name="Call Ines Duarte on +34 600 123 456")
    ).to_be_visible()
    # board.js marks the board once its lists take drops: a drag before that does nothing.
    expect(page.locator("#board")).to_have_attribute("data-ready", "true")
    ines_card.drag_to(page.locator('.lf-board-cards[data-stage="contacted"]'))
    expect(page.locator("#board-status")).to_have_text("Ines Duarte moved to Contacted.")
    assert Lead.objects.get(pk=ines.pk).stage == Lead.Stage.CONTACTED
    check_a11y(page, "laptop board")
