"""Tasks for sales reps on the dashboard and the lead page, through HTTP, and their service."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client

from sales.models import LeadChange, Task
from sales.services.leads import ActionRefused
from sales.services.tasks import complete_task, create_task
from tests.factories import LeadFactory, marketer
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db

# Tuesday 10 March 2026, 16:00 in New York (EDT, UTC-4 since 8 March).
NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def _task(owner: User, title: str, due_at: datetime, **fields: Any) -> Task:
    lead = fields.pop("lead", None) or LeadFactory(first_name=title.split()[0], owner=owner)
    return Task.objects.create(lead=lead, owner=owner, title=title, due_at=due_at, **fields)


def _today_titles(html: str) -> list[str]:
    section = re.search(r'<ul class="list-group" id="tasks-today">(.*?)</ul>', html, re.S)
    assert section is not None, "no Tasks for today list"
    return re.findall(r"<strong>(.*?)</strong>", section.group(1))


def _client(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@time_machine.travel(NOW, tick=False)
def test_it_lists_my_tasks_due_by_the_end_of_my_day_overdue_first() -> None:
    rita = make_rep("rita", time_zone="America/New_York")
    sam = make_rep("sam")
    _task(rita, "Later today", datetime(2026, 3, 10, 22, 0, tzinfo=UTC))  # 18:00 NY
    _task(rita, "Overdue call", datetime(2026, 3, 9, 14, 0, tzinfo=UTC))
    # 22:00 in New York: today for Rita, though already tomorrow in UTC.
    _task(rita, "Late evening", datetime(2026, 3, 11, 2, 0, tzinfo=UTC))
    _task(rita, "Tomorrow", datetime(2026, 3, 11, 5, 0, tzinfo=UTC))  # 01:00 NY on the 11th
    _task(rita, "Done already", NOW - timedelta(hours=1), completed_at=NOW, completed_by=rita)
    _task(sam, "Sam's call", NOW - timedelta(hours=2))

    response = _client(rita).get("/sales/")

    assert response.status_code == 200
    html = response.content.decode()
    assert _today_titles(html) == ["Overdue call", "Later today", "Late evening"]
    overdue = re.search(
        r'id="task-\d+">\s*<div class="me-auto lf-task-body">\s*(.*?)</strong>', html, re.S
    )
    assert overdue is not None and "Overdue</span> <strong>Overdue call" in overdue.group(1)
    assert html.count('text-bg-danger">Overdue</span>') == 1
    assert "Tue 10 Mar 18:00" in html  # the due time in Rita's zone
    assert "Sam&#x27;s call" not in html and "Sam's call" not in html


@time_machine.travel(NOW, tick=False)
def test_a_rep_completes_todays_task_from_the_dashboard_with_htmx() -> None:
    rita = make_rep("rita")
    task = _task(rita, "Call Ada", NOW + timedelta(hours=1))
    client = _client(rita)

    response = client.post(f"/sales/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.content.decode().startswith(
        f'<li class="list-group-item text-body-secondary" id="task-{task.pk}" '
        'role="status">Done: Call Ada</li>'
    )
    # With the heading's counts, out of band: nothing left today.
    assert (
        'id="today-task-counts" hx-swap-oob="true">0 due by tonight<' in response.content.decode()
    )
    task.refresh_from_db()
    assert (task.completed_at, task.completed_by) == (NOW, rita)
    assert "Call Ada" not in client.get("/sales/").content.decode()


def test_completing_needs_the_csrf_token() -> None:
    rita = make_rep("rita")
    task = _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC))
    client = _client(rita, enforce_csrf_checks=True)

    assert client.post(f"/sales/tasks/{task.pk}/complete/").status_code == 403
    task.refresh_from_db()
    assert task.completed_at is None


@time_machine.travel(NOW, tick=False)
def test_the_lead_page_shows_open_and_done_tasks_and_completes_one() -> None:
    rita = make_rep("rita", time_zone="Europe/Berlin")
    lead = LeadFactory(owner=rita)
    open_task = _task(rita, "Send the proposal", NOW + timedelta(days=2), lead=lead)
    _task(
        rita,
        "First call",
        NOW - timedelta(days=1),
        lead=lead,
        completed_at=NOW - timedelta(hours=3),
        completed_by=rita,
    )
    client = _client(rita)

    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()

    open_list = re.search(r'id="open-tasks">(.*?)</ul>', page, re.S)
    done_list = re.search(r'id="done-tasks">(.*?)</ul>', page, re.S)
    assert open_list is not None and done_list is not None
    assert "Send the proposal" in open_list.group(1) and "Thu 12 Mar 21:00" in open_list.group(1)
    assert "<s>First call</s> — rita" in done_list.group(1)

    response = client.post(
        f"/sales/tasks/{open_task.pk}/complete/", {"next": f"/sales/leads/{lead.pk}/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/sales/leads/{lead.pk}/"
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "Done: Send the proposal" in page  # the flash message
    assert "No open tasks." in page
    assert "<s>Send the proposal</s> · Done — rita" in page


@time_machine.travel(NOW, tick=False)
def test_a_rep_adds_a_task_on_the_lead_page_due_in_their_zone() -> None:
    rita = make_rep("rita", time_zone="America/New_York")
    lead = LeadFactory()  # nobody's yet: the task is the rep's own follow-up
    client = _client(rita)

    response = client.post(
        f"/sales/leads/{lead.pk}/tasks/",
        {"title": "  Call   back about pricing ", "due_date": "2026-03-11", "due_time": "10:30"},
    )

    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.lead, task.owner, task.title) == (lead, rita, "Call back about pricing")
    assert task.due_at == datetime(2026, 3, 11, 14, 30, tzinfo=UTC)
    assert task.source == Task.Source.MANUAL
    assert "Task added." in client.get(f"/sales/leads/{lead.pk}/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "due_date": "2026-03-11"}, "Give the task a title."),
        ({"title": "   ", "due_date": "2026-03-11"}, "Give the task a title."),
        ({"title": "Call", "due_date": ""}, "Choose the day the task is due."),
        ({"title": "Call", "due_date": "11/03/2026"}, "Enter the due date as YYYY-MM-DD."),
        (
            {"title": "Call", "due_date": "2026-03-11", "due_time": "25:00"},
            "Enter the due time as HH:MM.",
        ),
        ({"title": "x" * 201, "due_date": "2026-03-11"}, "Keep the title under 200 characters."),
    ],
)
def test_bad_task_input_is_a_400_with_the_reason_and_writes_nothing(
    data: dict[str, str], message: str
) -> None:
    rita = make_rep("rita")
    lead = LeadFactory()

    response = _client(rita).post(f"/sales/leads/{lead.pk}/tasks/", data)

    assert response.status_code == 400
    error = re.search(r'id="action-error">(.*?)</div>', response.content.decode())
    assert error is not None and error.group(1) == message.replace("'", "&#x27;")
    assert not Task.objects.exists()
    assert not LeadChange.objects.exists()


def test_a_marketer_may_neither_add_nor_complete_tasks_nor_sees_the_buttons() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita)
    task = _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC), lead=lead)
    client = _client(marketer())

    added = client.post(
        f"/sales/leads/{lead.pk}/tasks/", {"title": "Mine", "due_date": "2026-03-11"}
    )
    completed = client.post(f"/sales/tasks/{task.pk}/complete/")

    assert (added.status_code, completed.status_code) == (403, 403)
    task.refresh_from_db()
    assert task.completed_at is None and Task.objects.count() == 1
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "Call Ada" in page  # marketers read tasks
    assert "/complete/" not in page and "Add task" not in page
    assert "Tasks for today" not in client.get("/sales/").content.decode()


def test_a_rep_cannot_complete_another_reps_task() -> None:
    rita, sam = make_rep("rita"), make_rep("sam")
    task = _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC))
    client = _client(sam)

    response = client.post(f"/sales/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 403
    assert response.content.decode() == "This is rita's task to complete."
    task.refresh_from_db()
    assert task.completed_at is None
    assert "/complete/" not in client.get(f"/sales/leads/{task.lead_id}/").content.decode()


def test_a_rep_allowed_to_complete_anyones_task_may() -> None:
    rita, lead_rep = make_rep("rita"), make_rep("lena")
    lead_rep.user_permissions.add(Permission.objects.get(codename="complete_any_task"))
    task = _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC))

    done = complete_task(task_id=task.pk, actor=User.objects.get(pk=lead_rep.pk))

    assert done.completed_by == lead_rep


def test_completing_twice_keeps_the_first_completion() -> None:
    rita = make_rep("rita")
    task = _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC))
    first = complete_task(task_id=task.pk, actor=rita, now=NOW)
    again = complete_task(task_id=task.pk, actor=rita, now=NOW + timedelta(hours=1))
    assert first.completed_at == again.completed_at == NOW


def test_an_unowned_lead_goes_to_the_round_robin_pick_who_then_owns_it() -> None:
    make_rep("recent", last_assigned_at=NOW - timedelta(minutes=5))
    waiting = make_rep("waiting", last_assigned_at=NOW - timedelta(days=2))
    make_rep("away", takes_leads=False)
    lead = LeadFactory()

    task = create_task(lead_id=lead.pk, title="Call within 5 minutes", due_at=NOW)

    assert task.owner == waiting
    lead.refresh_from_db()
    assert lead.owner == waiting
    change = LeadChange.objects.get(lead=lead)
    assert (change.new_value, change.reason, change.actor) == ("waiting", "Task: round-robin", None)
    # The lead's next task stays with its new owner instead of rotating on.
    assert create_task(lead_id=lead.pk, title="Follow up", due_at=NOW).owner == waiting


def test_a_task_goes_to_the_leads_owner_first() -> None:
    make_rep("waiting")  # never given a lead: the round-robin would pick them
    owner = make_rep("owner", last_assigned_at=NOW)
    lead = LeadFactory(owner=owner)
    task = create_task(
        lead_id=lead.pk, title="Call", due_at=NOW, source="journey", source_ref="journey:3/node:12"
    )
    assert (task.owner, task.source, task.source_ref) == (owner, "journey", "journey:3/node:12")


def test_a_naive_due_time_or_an_owner_who_is_no_rep_is_refused() -> None:
    lead = LeadFactory()
    with pytest.raises(ActionRefused, match="with its time zone"):
        create_task(lead_id=lead.pk, title="Call", due_at=datetime(2026, 3, 10, 9, 0))  # noqa: DTZ001
    with pytest.raises(ActionRefused, match="active sales rep"):
        create_task(lead_id=lead.pk, title="Call", due_at=NOW, owner_id=marketer().pk)
    assert not Task.objects.exists()


def test_the_admin_lists_tasks_under_sales_read_only() -> None:
    rita = make_rep("rita")
    _task(rita, "Call Ada", datetime(2026, 3, 10, 21, 0, tzinfo=UTC))
    client = _client(marketer())

    listing = client.get("/admin/sales/task/")
    index = client.get("/admin/sales/").content.decode()

    assert listing.status_code == 200 and "Call Ada" in listing.content.decode()
    assert 'href="/admin/sales/task/"' in index
    assert client.get("/admin/sales/task/add/").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_a_hostile_title_and_note_are_shown_as_text() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita)
    client = _client(rita)
    client.post(
        f"/sales/leads/{lead.pk}/tasks/",
        {
            "title": "<script>alert(1)</script>",
            "due_date": "2026-03-10",
            "due_time": "09:00",
        },
    )
    Task.objects.update(note='<img src=x onerror="alert(2)">')

    for url in ("/sales/", f"/sales/leads/{lead.pk}/"):
        html = client.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
        assert "&lt;img src=x onerror=" in html and "<img src=x" not in html


@time_machine.travel(NOW, tick=False)
def test_the_dashboard_and_lead_page_say_which_zone_their_times_are_in() -> None:
    rita = make_rep("rita", time_zone="America/New_York")
    lead = LeadFactory(owner=rita, first_name="Ada")  # captured now: 16:00 in New York
    _task(rita, "Call Ada", datetime(2026, 3, 10, 22, 0, tzinfo=UTC), lead=lead)
    client = _client(rita)

    dashboard = client.get("/sales/").content.decode()
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()

    for html in (dashboard, page):
        note = re.search(
            r'<span class="small text-body-secondary" id="zone-note">(.*?)</span>', html
        )
        assert note is not None
        assert re.sub(r"<[^>]+>", "", note.group(1)) == (
            "Times in America/New_York (EDT) · change in My hours"
        )
        assert '<a href="/sales/availability/">change in My hours</a>' in note.group(1)
        assert "Tue 10 Mar 18:00 EDT</time>" in html  # the task's due time, with its zone
    assert "Tue 10 Mar 2026 16:00 EDT</time>" in page  # captured

    # A marketer reads UTC, and has no hours to set.
    page = _client(marketer()).get(f"/sales/leads/{lead.pk}/").content.decode()
    assert '<span class="small text-body-secondary" id="zone-note">Times in UTC</span>' in page
