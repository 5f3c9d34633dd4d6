"""The rep's day: the hand-off's "call within 5 minutes" task, completing tasks with an
outcome (a call's outcome logs the call), speed to lead from those tasks, `tel:` links, and
a timeline that reads like a story."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capture.models import Activity, Lead, Submission
from sales.models import Handoff, Note, Task
from sales.selectors import lead_workspace, rep_speed_to_contact
from sales.selectors.describe import campaign_label, short_url, url_campaign_label
from sales.services.handoff import open_handoff
from sales.services.leads import ActionRefused, add_note, reassign_lead
from sales.services.tasks import complete_task
from sales.templatetags.sales_tags import tel_href
from tests.factories import LandingPageFactory, LeadFactory
from tests.sales.support import make_activity, make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _handed_off(rep: User, callbacks: Any, **fields: Any) -> tuple[Lead, Handoff]:
    lead = LeadFactory(temperature="hot", score=82, owner=rep, **fields)
    with callbacks(execute=True):
        handoff = open_handoff(lead_id=lead.pk, now=NOW)
    assert handoff is not None
    return lead, handoff


def test_it_gives_the_rep_a_call_within_5_minutes_task_once_per_hot_episode(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    lead, handoff = _handed_off(ann, django_capture_on_commit_callbacks, phone="+44 20 7946 0000")

    task = Task.objects.get(lead=lead)
    assert (task.owner, task.source, task.handoff, task.due_at) == (
        ann,
        Task.Source.HANDOFF,
        handoff,
        NOW + timedelta(minutes=5),
    )
    assert task.title == "Call within 5 minutes: turned hot"
    assert task.note == "Turned hot with a score of 82."
    # The same episode announced again (a storm of rescoring) makes no second task.
    with django_capture_on_commit_callbacks(execute=True):
        assert open_handoff(lead_id=lead.pk, now=NOW + timedelta(seconds=3)) is None
    assert Task.objects.filter(lead=lead).count() == 1


def test_the_call_task_follows_the_lead_to_its_new_rep(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann, bob = make_rep("ann"), make_rep("bob")
    lead, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    reassign_lead(lead_id=lead.pk, actor=ann, owner_id=bob.pk, reason="Bob speaks German")
    assert Task.objects.get(lead=lead).owner == bob


def test_completing_the_call_task_with_an_outcome_logs_the_call_and_the_first_contact(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    lead, handoff = _handed_off(ann, django_capture_on_commit_callbacks)
    task = Task.objects.get(lead=lead)

    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        done = complete_task(task_id=task.pk, actor=ann, outcome="voicemail", note="Left a msg")

    assert (done.outcome, done.completed_by, done.completed_at) == (
        "voicemail",
        ann,
        NOW + timedelta(minutes=3),
    )
    note = Note.objects.get(lead=lead)
    assert (note.kind, note.outcome, note.body, note.author) == (
        "call",
        "voicemail",
        "Left a msg",
        ann,
    )
    handoff.refresh_from_db()
    assert handoff.first_contact_at == NOW + timedelta(minutes=3)
    # Completing it again changes nothing and logs no second call.
    complete_task(task_id=task.pk, actor=ann, outcome="connected")
    assert Task.objects.get(pk=task.pk).outcome == "voicemail"
    assert Note.objects.filter(lead=lead).count() == 1


def test_a_plain_done_logs_no_call_and_an_unknown_outcome_is_refused() -> None:
    ann = make_rep("ann")
    lead = LeadFactory(owner=ann)
    task = Task.objects.create(lead=lead, owner=ann, title="Send the deck", due_at=NOW)
    with pytest.raises(ActionRefused, match="Choose how it went"):
        complete_task(task_id=task.pk, actor=ann, outcome="sort of")
    assert Task.objects.get(pk=task.pk).completed_at is None
    complete_task(task_id=task.pk, actor=ann)
    assert Task.objects.get(pk=task.pk).outcome == "done"
    assert not Note.objects.exists()


def test_logging_a_call_on_the_lead_page_completes_the_hand_off_task(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    lead, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
        add_note(lead_id=lead.pk, author=ann, kind="call", outcome="connected", body="Keen")
    task = Task.objects.get(lead=lead)
    assert (task.outcome, task.completed_at) == ("connected", NOW + timedelta(minutes=9))


def test_the_dashboard_completes_a_call_task_with_its_outcome_over_http(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann", time_zone="Europe/London")
    lead, _ = _handed_off(
        ann,
        django_capture_on_commit_callbacks,
        first_name="Maria",
        last_name="Garcia",
        phone="+34 600 000 000",
    )
    task = Task.objects.get(lead=lead)
    client = _client(ann)

    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):
        html = client.get("/sales/").content.decode()
        item = re.search(rf'<li class="[^"]*" id="task-{task.pk}">(.*?)</li>', html, re.S)
        assert item is not None
        assert "lf-task-overdue" in html[html.index(f'id="task-{task.pk}"') - 200 :][:200]
        assert "Overdue" in item.group(1) and "from the hand-off" in item.group(1)
        assert '<a href="tel:+34600000000"' in item.group(1)
        assert '<option value="">How did the call go?</option>' in item.group(1)
        assert "1 overdue</span> · 0 due by tonight" in html

        # A call task needs its outcome: the server says so and writes nothing.
        url = reverse("sales:complete_task", args=[task.pk])
        refused = client.post(url, {"outcome": ""}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 400
        assert "Choose how it went" in refused.content.decode()
        assert Task.objects.get(pk=task.pk).completed_at is None

        done = client.post(url, {"outcome": "meeting_set"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert "Done: Call within 5 minutes: turned hot (meeting set)" in done.content.decode()
    assert Note.objects.get(lead=lead).outcome == "meeting_set"


def test_speed_to_lead_counts_the_call_tasks_done_in_time(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, bob = make_rep("ann"), make_rep("bob")
    fast, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    slow, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    _handed_off(bob, django_capture_on_commit_callbacks)
    for lead, minutes in ((fast, 2), (slow, 30)):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            task = Task.objects.get(lead=lead)
            complete_task(task_id=task.pk, actor=ann, outcome="connected")

    speeds = {s.rep: s for s in rep_speed_to_contact(now=NOW + timedelta(hours=1))}
    ann_speed, bob_speed = speeds["ann"], speeds["bob"]
    assert (ann_speed.calls, ann_speed.called_on_time, ann_speed.calls_overdue) == (2, 1, 0)
    assert ann_speed.on_time_rate == 50
    assert ann_speed.median_to_call == timedelta(minutes=16)
    assert (bob_speed.calls, bob_speed.called_on_time, bob_speed.calls_overdue) == (1, 0, 1)
    monkeypatch.setattr("sales.selectors.stats.database_has_median", lambda: False)
    python = rep_speed_to_contact(now=NOW + timedelta(hours=1))
    assert python == sorted(speeds.values(), key=lambda s: (s.median is None, s.rep)), (
        "SQLite's Python medians agree with percentile_cont"
    )
    monkeypatch.undo()

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        html = _client(ann).get("/sales/metrics/").content.decode()
    table = html[html.index('id="rep-speed-table"') :]
    assert '50 % <span class="text-body-secondary d-none d-sm-inline">(1 of 2)</span>' in table
    assert '<span class="badge text-bg-danger">1</span>' in table


def test_phone_numbers_are_tel_links_for_the_rep_everywhere() -> None:
    ann = make_rep("ann")
    lead = LeadFactory(
        first_name="Maria", phone="+1 (555) 010-0199", owner=ann, stage=Lead.Stage.SALES_READY
    )
    client = _client(ann)
    href = 'href="tel:+15550100199"'
    assert href in client.get("/sales/").content.decode(), "the dashboard's rows"
    assert href in client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert href in client.get(reverse("sales:board")).content.decode()
    assert tel_href("call me maybe") == "" and tel_href("020 7946 0000") == "tel:02079460000"


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "label"),
    [
        ("google", "cpc", "spring-push", "Google Ads · spring-push"),
        ("Facebook", "paid_social", "", "Facebook Ads"),
        ("google", "organic", "", "Google search"),
        ("newsletter", "email", "march", "Newsletter email · march"),
        ("partner-blog", "referral", "", "partner-blog"),
        ("", "email", "", "Email"),
        ("", "", "", ""),
    ],
)
def test_utm_parameters_read_as_people_say_them(
    source: str, medium: str, campaign: str, label: str
) -> None:
    assert campaign_label(source=source, medium=medium, campaign=campaign) == label


def test_urls_are_short_labels_without_their_query_strings() -> None:
    tracked = "https://www.example.com/pricing/?utm_source=google&utm_medium=cpc&gclid=abc"
    assert short_url(tracked) == "/pricing"
    assert short_url(tracked, with_host=True) == "example.com/pricing"
    assert short_url("https://example.org/") == "/"
    assert url_campaign_label(tracked) == "Google Ads"
    assert url_campaign_label("https://example.com/pricing?plan=pro") == ""


def test_the_timeline_tells_where_the_lead_came_from_in_words() -> None:
    lead = LeadFactory()
    Submission.objects.create(
        lead=lead,
        landing_page=LandingPageFactory(title="Free consultation"),
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring-push",
    )
    at = timezone.now()
    make_activity(
        lead,
        Activity.Kind.PAGE_VIEWED,
        at - timedelta(minutes=2),
        url="https://example.com/pricing?utm_source=linkedin&utm_medium=paid_social"
        "&utm_campaign=cfo-q2&fbclid=x1",
    )
    make_activity(
        lead,
        Activity.Kind.PAGE_VIEWED,
        at - timedelta(minutes=1),
        url="https://example.com/case-studies/acme?ref=nav",
        referrer="https://news.ycombinator.com/item?id=1",
    )
    make_activity(
        lead,
        Activity.Kind.EMAIL_CLICKED,
        at,
        link="https://docs.example.org/guide?utm_source=leadfunnel",
    )

    with timezone.override(UTC):
        entries = [(e.title, e.detail) for e in lead_workspace(lead=lead).timeline]
    assert ("Clicked an email", "to docs.example.org/guide") in entries
    assert ("Viewed /case-studies/acme", "from news.ycombinator.com/item") in entries
    assert ("Viewed /pricing", "LinkedIn Ads · cfo-q2") in entries
    assert ("Submitted the form on “Free consultation”", "Google Ads · spring-push") in entries
    assert not any("utm_" in title + detail or "?" in title for title, detail in entries)


def _overdue_calls(html: str) -> list[str]:
    """The Speed to lead table's "Calls overdue" column, rep by rep."""
    table = html.split('id="speed-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(\w+)</td>(.*?)</tr>", table, re.S)
    return [
        f"{rep}: {re.sub(r'<[^>]+>', '', cells.split('<td')[-1].split('>', 1)[1])}"
        for rep, cells in rows
    ]


def test_completing_the_call_task_updates_the_dashboards_figures_at_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann", time_zone="UTC")
    lead, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    task = Task.objects.get(lead=lead)
    client = _client(ann)
    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):
        html = client.get("/sales/").content.decode()
        assert _overdue_calls(html) == ["ann: 1"]
        assert "1 overdue</span> · 0 due by tonight" in html

        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(
                reverse("sales:complete_task", args=[task.pk]),
                {"outcome": "connected"},
                HTTP_HX_REQUEST="true",
            )

        # The htmx answer swaps the heading's counts and the figures out of band...
        fragment = done.content.decode()
        assert f'id="task-{task.pk}"' in fragment
        assert re.search(r'id="today-task-counts" hx-swap-oob="true">0 due by tonight<', fragment)
        assert 'id="speed-section" hx-swap-oob="true"' in fragment
        assert _overdue_calls(fragment) == ["ann: 0"]
        # ...and the next page load reads the same, not a minute-old cache.
        html = client.get("/sales/").content.decode()
    assert _overdue_calls(html) == ["ann: 0"]
    assert "overdue</span> ·" not in html  # the heading counts none


def test_a_call_logged_on_the_lead_page_shows_in_speed_to_lead_at_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann", time_zone="UTC")
    lead, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    client = _client(ann)
    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):
        assert _overdue_calls(client.get("/sales/").content.decode()) == ["ann: 1"]
        with django_capture_on_commit_callbacks(execute=True):
            logged = client.post(
                reverse("sales:add_note", args=[lead.pk]),
                {"kind": "call", "outcome": "voicemail", "body": "Left a message"},
            )
        assert logged.status_code == 302
        html = client.get("/sales/").content.decode()
    assert _overdue_calls(html) == ["ann: 0"]
