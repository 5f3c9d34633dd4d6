"""A rep works the day's tasks in a real browser: the dashboard lists them overdue first and
completes one in place (htmx); the lead page adds one. Both pages stay axe-clean."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from sales.models import Task
from sales.services.tasks import create_task
from tests.e2e.conftest import DEMO_PASSWORD, check_a11y
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_rep_completes_a_task_on_the_dashboard_and_adds_one_on_the_lead_page(
    live_server: Any, page: Page, demo: None
) -> None:
    rep = User.objects.get(username="sales")
    lead = LeadFactory(first_name="Grace", last_name="Hopper", owner=rep)
    now = timezone.now()
    create_task(lead_id=lead.pk, title="Send the proposal", due_at=now - timedelta(hours=1))
    create_task(lead_id=lead.pk, title="Call Grace back", due_at=now - timedelta(hours=3))

    page.goto(f"{live_server.url}/sales/")
    page.get_by_label("Username").fill("sales")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    tasks = page.locator("#tasks-today > li")
    # And the hand-off's "call within 5 minutes" for the demo's own hot lead, due last.
    expect(tasks).to_have_count(3)
    expect(tasks.first).to_contain_text("Overdue")
    expect(tasks.first).to_contain_text("Call Grace back")  # the longest overdue first
    check_a11y(page, "dashboard with tasks")

    page.get_by_role("button", name="Complete: Call Grace back").click()
    expect(page.locator("#tasks-today")).to_contain_text("Done: Call Grace back")
    assert Task.objects.get(title="Call Grace back").completed_by == rep

    page.locator("#tasks-today").get_by_role("link", name="Grace Hopper").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    page.get_by_label("New task").fill("Book the demo")
    page.get_by_label("Due date").fill((now + timedelta(days=2)).date().isoformat())
    page.get_by_label("Due time").fill("10:00")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#open-tasks")).to_contain_text("Book the demo")
    expect(page.locator("#done-tasks")).to_contain_text("Call Grace back")
    check_a11y(page, "lead page with tasks")
