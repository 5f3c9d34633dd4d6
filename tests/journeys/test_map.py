"""The journey map in the admin, through HTTP as a marketer: figures, forms, editing."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from leadfunnel.groups import MARKETERS, SALES_REPS
from nurture.models import Delivery, Edge, Enrollment, Journey, Node, Sequence, Trigger
from nurture.services import advancing, journeys, triggers
from nurture.services.dispatching import hand_out_due
from tests.factories import LandingPageFactory, LeadFactory, UserFactory, marketer
from tests.journeys.builders import email, node, playbook

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


def _tick(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        advancing.advance_all_due(now=now)
        hand_out_due(now=now)
        advancing.advance_all_due(now=now)


def _enrolled(count: int) -> tuple[Sequence, list[Enrollment]]:
    """The playbook with `count` leads that got the confirmation and wait one business day."""
    page = LandingPageFactory()
    journey = playbook(page=page)
    enrollments = []
    with time_machine.travel(MONDAY, tick=False):
        for _ in range(count):
            lead = LeadFactory(time_zone="UTC")
            enrollments.extend(triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk))
    _tick(MONDAY)
    return journey, enrollments


def _node(journey: Sequence, name: str) -> Node:
    """A node by the name the map shows (a wait without a name shows as "Wait")."""
    (found,) = [n for n in Node.objects.filter(sequence=journey) if str(n) == name]
    return found


def _url(journey: Sequence, suffix: str = "") -> str:
    return reverse("admin:nurture_journey_map", args=[journey.pk]) + suffix


@pytest.fixture
def client_in(client: Client) -> Client:
    client.force_login(marketer())
    return client


def _map_json(html: str) -> dict:
    found = re.search(
        r'<script id="journey-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "the map's data is embedded for journey-map.js"
    return json.loads(found.group(1))


def test_it_shows_every_node_with_its_live_figures(client_in: Client) -> None:
    journey, _ = _enrolled(2)
    response = client_in.get(_url(journey))
    assert response.status_code == 200
    html = response.content.decode()
    for name in (
        "Thanks, we got your request",
        "Hot?",
        "Call the lead",
        "Three ways to grow",
        "Clicked?",
        "A client story",
        "In case you missed it",
        "Booked",
    ):
        assert name in html
    # The confirmation went to both; both wait one business day at the wait node.
    assert "sent 2 · opened 0 (0%) · clicked 0 (0%)" in html
    assert "entered 2 · waiting now 2" in html
    assert "wait 1 business day" in html and "1 business days" not in html
    # Arrows are labelled by port, the list links each node's form and the other pages.
    assert "timed out: → " in html and "yes: → " in html and "hot: → " in html
    assert "otherwise: → " in html
    assert reverse("admin:nurture_journey_dryrun", args=[journey.pk]) in html
    assert reverse("admin:nurture_journey_report", args=[journey.pk]) in html
    data = _map_json(html)
    by_name = {row["name"]: row for row in data["nodes"]}
    assert data["nodes"][0]["name"] == "Thanks, we got your request", "start first"
    assert by_name["Clicked?"]["arrows"][1]["label"] == "timed out"
    assert by_name["Wait"]["figures"][0] == "entered 2 · waiting now 2"
    # Vendored scripts only: dagre for the layout, htmx for the panel.
    assert "vendor/dagre-3.1.3/dagre.min.js" in html and "vendor/htmx-2.0.11/htmx.min.js" in html


def test_a_split_shows_its_variants_side_by_side_with_the_winner(client_in: Client) -> None:
    journey = journeys.build(
        name="Subject test",
        nodes={
            "split": node(
                Node.Kind.SPLIT,
                "Subject test",
                winner="v1",
                variants=[{"label": "Short", "weight": 50}, {"label": "Long", "weight": 50}],
            ),
            "a": email("Grow now"),
            "b": email("Three ways to grow your pipeline"),
        },
        edges=[("split", "v0", "a"), ("split", "v1", "b")],
        start="split",
    )
    html = client_in.get(_url(journey)).content.decode()
    assert "variant Short: → " in html and "variant Long: → " in html
    assert "Variant Long (50%): sent 0, clicked 0 (—) — <strong>winner</strong>" in html
    split = _map_json(html)["nodes"][0]["split"]
    assert [(v["label"], v["winner"]) for v in split["variants"]] == [
        ("Short", False),
        ("Long", True),
    ]


def test_the_node_form_opens_as_a_partial_and_refuses_an_unknown_merge_field(
    client_in: Client,
) -> None:
    journey, _ = _enrolled(1)
    day2 = _node(journey, "Three ways to grow")
    url = _url(journey, f"node/{day2.pk}/")
    partial = client_in.get(url, **HTMX).content.decode()
    assert "<html" not in partial and 'value="Three ways to grow"' in partial
    response = client_in.post(
        url, {"name": "Day 2", "subject": "Hi {{ first_nmae }}", "body": "Hello"}, **HTMX
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#node-panel"
    assert "Unknown merge field first_nmae." in response.content.decode()
    day2.refresh_from_db()
    assert day2.name == "Three ways to grow" and day2.step.subject == "Three ways to grow"


def test_saving_a_node_rerenders_the_editor_with_the_change(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    day2 = _node(journey, "Three ways to grow")
    response = client_in.post(
        _url(journey, f"node/{day2.pk}/"),
        {
            "name": "Day 2",
            "subject": "Hi {{ first_name }}, three ideas",
            "body": "**Grow**",
            "cta_label": "Book",
            "cta_url": "{{ booking_url }}",
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="journey-editor"') and "Saved “Day 2”." in html
    assert "“Hi {{ first_name }}, three ideas”" in html
    day2.refresh_from_db()
    assert (day2.name, day2.step.cta_url) == ("Day 2", "{{ booking_url }}")


def test_without_javascript_a_save_redirects_back_to_the_node(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    wait = _node(journey, "Wait")
    response = client_in.post(
        _url(journey, f"node/{wait.pk}/"), {"name": "Pause", "amount": "2", "unit": "hours"}
    )
    assert response.status_code == 302 and response["Location"] == _url(journey, f"?node={wait.pk}")
    wait.refresh_from_db()
    assert wait.config == {"amount": 2, "unit": "hours"}
    page = client_in.get(response["Location"]).content.decode()
    assert "Saved “Pause”." in page and 'value="Pause"' in page


def test_removing_a_node_previews_and_moves_its_waiting_leads_on(client_in: Client) -> None:
    journey, enrollments = _enrolled(2)
    wait, hot = _node(journey, "Wait"), _node(journey, "Hot?")
    confirm = _node(journey, "Thanks, we got your request")
    preview = client_in.get(_url(journey, f"node/{wait.pk}/remove/"), **HTMX).content.decode()
    assert "2 leads wait at “Wait”; removing it, they move on to “Hot?”." in preview
    later = MONDAY + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        response = client_in.post(_url(journey, f"node/{wait.pk}/remove/"), **HTMX)
    assert response.status_code == 200
    assert "Removed “Wait”; 2 leads moved on." in response.content.decode()
    assert not Node.objects.filter(pk=wait.pk).exists()
    assert Edge.objects.get(source=confirm, port="next").target == hot
    for enrollment in enrollments:
        enrollment.refresh_from_db()
        assert (enrollment.current_node, enrollment.node_entered_at) == (hot, None)
        assert enrollment.next_at == later
    # The next tick takes them on from the branch (cold: otherwise → Day 2) at once.
    _tick(later)
    assert Delivery.objects.filter(node__name="Three ways to grow").count() == 2
    # The confirmation they got is still in their history.
    assert Delivery.objects.filter(node=confirm, status=Delivery.Status.SENT).count() == 2


def test_removing_the_start_email_keeps_its_sent_emails(client_in: Client) -> None:
    journey, enrollments = _enrolled(1)
    confirm = _node(journey, "Thanks, we got your request")
    step = confirm.step
    client_in.post(_url(journey, f"node/{confirm.pk}/remove/"))
    journey.refresh_from_db()
    assert journey.start_node == _node(journey, "Wait")
    sent = Delivery.objects.get(enrollment=enrollments[0], step=step)
    assert sent.status == Delivery.Status.SENT and sent.node is None
    assert enrollments[0].path.filter(node_name="Thanks, we got your request").exists()


def test_a_node_is_added_on_an_arrow_after_a_preview(client_in: Client) -> None:
    journey, _ = _enrolled(3)
    wait, hot = _node(journey, "Wait"), _node(journey, "Hot?")
    edge = Edge.objects.get(source=wait, port="next")
    preview = client_in.get(_url(journey, f"edge/{edge.pk}/insert/"), **HTMX).content.decode()
    assert "Add a node between “Wait” and “Hot?”" in preview
    assert "3 leads waiting at “Wait” will go through the new node next." in preview
    response = client_in.post(
        _url(journey, f"edge/{edge.pk}/insert/"), {"kind": "sms", "name": "Text them"}, **HTMX
    )
    assert response.status_code == 200
    sms = _node(journey, "Text them")
    assert Edge.objects.get(source=wait, port="next").target == sms
    assert Edge.objects.get(source=sms, port="next").target == hot
    html = response.content.decode()
    assert "Added “Text them”: fill in its form." in html and "Empty: 0 segments." in html


def test_a_node_is_added_after_a_last_node_and_not_after_a_goal(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    task, goal = _node(journey, "Call the lead"), _node(journey, "Booked")
    response = client_in.post(_url(journey, f"node/{task.pk}/add/next/"), {"kind": "notify"})
    assert response.status_code == 302
    assert Edge.objects.get(source=task, port="next").target.kind == Node.Kind.NOTIFY
    again = client_in.post(_url(journey, f"node/{task.pk}/add/next/"), {"kind": "goal"})
    assert again.status_code == 400
    assert "already leads to “Notify” there: add on that arrow." in again.content.decode()
    assert client_in.get(_url(journey, f"node/{goal.pk}/add/next/")).status_code == 400


def test_a_goal_cannot_go_in_the_middle(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    edge = Edge.objects.get(source=_node(journey, "Wait"), port="next")
    response = client_in.post(_url(journey, f"edge/{edge.pk}/insert/"), {"kind": "goal"})
    assert response.status_code == 400
    assert "A goal ends the journey: add it after a last node instead." in response.content.decode()


def test_branch_conditions_are_validated_and_keep_their_arrows_when_reordered(
    client_in: Client,
) -> None:
    journey, _ = _enrolled(1)
    hot, task = _node(journey, "Hot?"), _node(journey, "Call the lead")
    url = _url(journey, f"node/{hot.pk}/")
    form = {
        "name": "Hot?",
        "conditions-TOTAL_FORMS": "2",
        "conditions-INITIAL_FORMS": "1",
        "conditions-0-origin": "",
        "conditions-0-field": "score",
        "conditions-0-op": "at_least",
        "conditions-0-value": "lots",
        "conditions-1-origin": "0",
        "conditions-1-field": "temperature",
        "conditions-1-op": "is",
        "conditions-1-value": "hot",
        "conditions-1-label": "hot",
    }
    refused = client_in.post(url, form)
    assert refused.status_code == 400 and "A score is a whole number." in refused.content.decode()
    saved = client_in.post(url, {**form, "conditions-0-value": "80"})
    assert saved.status_code == 302
    hot.refresh_from_db()
    assert hot.config["conditions"] == [
        {"when": {"field": "score", "op": "at_least", "value": 80}},
        {"when": {"field": "temperature", "op": "is", "value": "hot"}, "label": "hot"},
    ]
    # "hot" moved from the first place to the second; its arrow went with it.
    assert dict(Edge.objects.filter(source=hot).values_list("port", "target")) == {
        "c1": task.pk,
        "else": _node(journey, "Three ways to grow").pk,
    }
    problems = client_in.get(_url(journey)).content.decode()
    assert "Branch “Hot?”: “score at least 80” leads nowhere" in problems


def test_a_split_needs_percentages_that_add_up_and_states_its_test(client_in: Client) -> None:
    journey = journeys.build(
        name="Split",
        nodes={"split": node(Node.Kind.SPLIT, "Subjects"), "a": email("A"), "b": email("B")},
        edges=[("split", "v0", "a"), ("split", "v1", "b")],
        start="split",
    )
    split = _node(journey, "Subjects")
    url = _url(journey, f"node/{split.pk}/")
    page = client_in.get(url, **HTMX).content.decode()
    assert "Two-proportion z-test on click rates" in page and "p &lt; 0.05" in page
    variants = {
        "variants-TOTAL_FORMS": "4",
        "variants-INITIAL_FORMS": "2",
        "variants-0-origin": "0",
        "variants-0-label": "A",
        "variants-0-weight": "50",
        "variants-1-origin": "1",
        "variants-1-label": "B",
        "variants-1-weight": "40",
    }
    form = {
        "name": "Subjects",
        "min_sends": "200",
        "confidence": "0.95",
        "auto_winner": "on",
        **variants,
    }
    refused = client_in.post(url, form)
    assert refused.status_code == 400
    assert "The variants’ percentages add up to 90, not 100." in refused.content.decode().replace(
        "&#x27;", "’"
    ).replace("'", "’")
    assert client_in.post(url, {**form, "variants-1-weight": "50"}).status_code == 302
    split.refresh_from_db()
    assert split.config["auto_winner"] is True and split.config["min_sends"] == 200
    # A winner the engine decided survives the marketer's next save.
    Node.objects.filter(pk=split.pk).update(config={**split.config, "winner": "v1"})
    client_in.post(url, {**form, "variants-1-weight": "50", "min_sends": "300"})
    split.refresh_from_db()
    assert (split.config["winner"], split.config["min_sends"]) == ("v1", 300)


def test_the_sms_form_counts_segments_as_the_marketer_types(client_in: Client) -> None:
    journey = journeys.build(
        name="Texts", nodes={"sms": node(Node.Kind.SMS, "Text", body="Hi")}, edges=[], start="sms"
    )
    sms = _node(journey, "Text")
    page = client_in.get(_url(journey, f"node/{sms.pk}/"), **HTMX).content.decode()
    assert "2 characters (GSM-7): 1 segment of up to 160." in page
    assert f'hx-post="{_url(journey, "sms-segments/")}"' in page
    live = client_in.post(_url(journey, "sms-segments/"), {"body": "x" * 161}, **HTMX)
    assert live.content.decode() == "161 characters (GSM-7): 2 segments of up to 153."
    emoji = client_in.post(_url(journey, "sms-segments/"), {"body": "Hi 👋"}, **HTMX)
    assert emoji.content.decode() == "5 characters (UCS-2): 1 segment of up to 70."


def test_wait_until_needs_a_page_for_a_visit(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    clicked = _node(journey, "Clicked?")
    url = _url(journey, f"node/{clicked.pk}/")
    form = {
        "name": "Visited pricing?",
        "event": "visited",
        "url": "",
        "timeout_amount": "2",
        "timeout_unit": "days",
    }
    refused = client_in.post(url, form)
    assert refused.status_code == 400
    assert "Give the page (a URL or a pattern such as */pricing*)." in refused.content.decode()
    assert client_in.post(url, {**form, "url": "*/pricing*"}).status_code == 302
    clicked.refresh_from_db()
    assert clicked.config == {
        "event": {"field": "visited", "url": "*/pricing*"},
        "timeout": {"amount": 2, "unit": "days"},
    }


def test_triggers_are_edited_on_the_map(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    url = _url(journey, "triggers/")
    refused = client_in.post(url, {"new-trigger-kind": "page_view", "new-trigger-url": ""})
    assert refused.status_code == 400
    assert "Give the page&#x27;s URL or a pattern such as */pricing*." in refused.content.decode()
    added = client_in.post(
        url,
        {
            "new-trigger-kind": "page_view",
            "new-trigger-url": "*/pricing*",
            "new-trigger-count": "2",
            "new-trigger-within_days": "7",
        },
    )
    assert added.status_code == 302
    trigger = Trigger.objects.get(sequence=journey, kind="page_view")
    assert trigger.config == {"url": "*/pricing*", "count": 2, "within_days": 7}
    prefix = f"trigger-{trigger.pk}"
    client_in.post(
        url,
        {
            "trigger": trigger.pk,
            f"{prefix}-kind": "custom_event",
            f"{prefix}-name": "webinar_watched",
        },
    )
    trigger.refresh_from_db()
    assert (trigger.kind, trigger.config) == ("custom_event", {"name": "webinar_watched"})
    client_in.post(url, {"trigger": trigger.pk, "remove": "1"})
    assert not Trigger.objects.filter(pk=trigger.pk).exists()


def test_a_new_journey_starts_with_one_email_and_publishes_once_it_is_written(
    client_in: Client,
) -> None:
    response = client_in.post(
        reverse("admin:nurture_journey_add"),
        {
            "name": "Webinar",
            "reentry": "once",
            "reentry_days": "30",
            "window_start_hour": "9",
            "window_end_hour": "17",
            "weekdays": ["0", "1", "2", "3", "4"],
            "fallback_time_zone": "UTC",
            "track_engagement": "on",
        },
    )
    journey = Journey.objects.get(name="Webinar")
    first = journey.start_node
    assert first.kind == Node.Kind.EMAIL and journey.status == Sequence.Status.PAUSED
    assert response["Location"] == _url(journey, f"?node={first.pk}")
    refused = client_in.post(_url(journey, "publish/"), {"action": "publish"})
    assert refused.status_code == 400
    assert "Email “First email” needs a subject and a body." in refused.content.decode()
    journey.refresh_from_db()
    assert journey.status == Sequence.Status.PAUSED
    client_in.post(
        _url(journey, f"node/{first.pk}/"), {"name": "Welcome", "subject": "Welcome", "body": "Hi"}
    )
    assert client_in.post(_url(journey, "publish/"), {"action": "publish"}).status_code == 302
    journey.refresh_from_db()
    assert journey.status == Sequence.Status.ACTIVE


def test_the_settings_form_cannot_publish_an_unfinished_journey(client_in: Client) -> None:
    client_in.post(
        reverse("admin:nurture_journey_add"),
        {
            "name": "Draft",
            "reentry": "once",
            "reentry_days": "30",
            "window_start_hour": "9",
            "window_end_hour": "17",
            "weekdays": ["0"],
            "fallback_time_zone": "UTC",
        },
    )
    journey = Journey.objects.get(name="Draft")
    response = client_in.post(
        reverse("admin:nurture_journey_change", args=[journey.pk]),
        {
            "name": "Draft",
            "status": "active",
            "reentry": "once",
            "reentry_days": "30",
            "window_start_hour": "9",
            "window_end_hour": "17",
            "weekdays": ["0"],
            "fallback_time_zone": "UTC",
        },
    )
    assert response.status_code == 200
    assert "Email “First email” needs a subject and a body." in response.content.decode()
    assert f'<a href="{_url(journey)}">Edit them on the map</a>' in response.content.decode()


def test_the_changelist_shows_enrolled_converted_and_the_map_link(client_in: Client) -> None:
    journey, enrollments = _enrolled(2)
    Enrollment.objects.filter(pk=enrollments[0].pk).update(converted_at=MONDAY)
    html = client_in.get(reverse("admin:nurture_journey_changelist")).content.decode()
    assert "Consultation journey" in html
    assert "2 (2 now)" in html and "1 (50%)" in html
    assert f'href="{_url(journey)}">Open map' in html


def test_staff_without_journey_permissions_are_refused(client: Client) -> None:
    journey, _ = _enrolled(1)
    client.force_login(UserFactory(is_staff=True))
    assert client.get(_url(journey)).status_code == 403
    viewer = UserFactory(is_staff=True, group=SALES_REPS)
    client.force_login(viewer)
    assert client.get(_url(journey)).status_code == 200, "reps may look"
    wait = _node(journey, "Wait")
    form = client.get(_url(journey, f"node/{wait.pk}/"), **HTMX).content.decode()
    assert "changing it is for marketers" in form and ">Save</button>" not in form
    assert client.post(_url(journey, f"node/{wait.pk}/remove/")).status_code == 403
    assert Node.objects.filter(pk=wait.pk).exists()


def test_the_groups_hold_the_journey_permissions() -> None:
    def codenames(name: str) -> set[str]:
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    marketers = codenames(MARKETERS)
    for model in ("journey", "node", "edge", "trigger"):
        assert {f"add_{model}", f"change_{model}", f"delete_{model}", f"view_{model}"} <= marketers
    assert {"view_pathstep", "view_enrollment"} <= marketers
    assert {"view_journey", "view_pathstep"} <= codenames(SALES_REPS)
    assert not {"change_journey", "change_node", "add_node"} & codenames(SALES_REPS)


def test_removing_a_branch_follows_otherwise_and_names_the_paths_it_cuts_off(
    client_in: Client,
) -> None:
    journey, _ = _enrolled(1)
    wait, hot = _node(journey, "Wait"), _node(journey, "Hot?")
    page = client_in.get(_url(journey, f"node/{hot.pk}/remove/")).content.decode()
    assert "No lead waits at “Hot?”; removing it moves nobody." in page
    assert "no longer be reachable from the start: Call the lead." in page
    client_in.post(_url(journey, f"node/{hot.pk}/remove/"))
    assert Edge.objects.get(source=wait, port="next").target == _node(journey, "Three ways to grow")


def test_without_javascript_an_arrow_link_opens_the_insert_form(client_in: Client) -> None:
    journey, _ = _enrolled(2)
    edge = Edge.objects.get(source=_node(journey, "Wait"), port="next")
    html = client_in.get(_url(journey, f"?insert={edge.pk}")).content.decode()
    assert "<html" in html and "Add a node between “Wait” and “Hot?”" in html
    assert "2 leads waiting at “Wait” will go through the new node next." in html


def test_task_and_update_forms_write_what_the_sales_actions_read(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    task = _node(journey, "Call the lead")
    saved = client_in.post(
        _url(journey, f"node/{task.pk}/"),
        {
            "name": "Call",
            "title": "Call {{ first_name }}",
            "note": "Hot from the form",
            "owner": "round_robin",
            "due_hours": "4",
        },
    )
    assert saved.status_code == 302
    task.refresh_from_db()
    assert task.config == {
        "title": "Call {{ first_name }}",
        "note": "Hot from the form",
        "owner": "round_robin",
        "due_hours": 4,
    }
    update = client_in.post(_url(journey, f"node/{task.pk}/add/next/"), {"kind": "update"})
    node_id = update["Location"].rsplit("=", 1)[1]
    url = _url(journey, f"node/{node_id}/")
    refused = client_in.post(url, {"name": "Note it", "action": "note", "text": " "})
    assert refused.status_code == 400 and "Write the note." in refused.content.decode()
    client_in.post(url, {"name": "Note it", "action": "note", "text": "Asked for a call"})
    assert Node.objects.get(pk=node_id).config == {"action": "note", "text": "Asked for a call"}


def test_a_branch_can_ask_whether_a_given_email_was_clicked(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    hot, day2 = _node(journey, "Hot?"), _node(journey, "Three ways to grow")
    url = _url(journey, f"node/{hot.pk}/")
    assert (
        f'<option value="{day2.pk}">Three ways to grow</option>'
        in client_in.get(url, **HTMX).content.decode()
    )
    client_in.post(
        url,
        {
            "name": "Hot?",
            "conditions-TOTAL_FORMS": "1",
            "conditions-INITIAL_FORMS": "1",
            "conditions-0-origin": "0",
            "conditions-0-field": "clicked",
            "conditions-0-email_node": day2.pk,
        },
    )
    hot.refresh_from_db()
    assert hot.config["conditions"] == [{"when": {"field": "clicked", "op": "is", "node": day2.pk}}]
    page = client_in.get(_url(journey)).content.decode()
    assert "clicked “Three ways to grow”: → " in page


def test_an_email_a_wait_or_a_branch_names_is_not_removed_until_they_change(
    client_in: Client,
) -> None:
    journey, _ = _enrolled(1)
    day2, clicked, hot = (_node(journey, n) for n in ("Three ways to grow", "Clicked?", "Hot?"))
    Node.objects.filter(pk=clicked.pk).update(
        config={**clicked.config, "event": {"field": "clicked", "node": day2.pk}}
    )
    Node.objects.filter(pk=hot.pk).update(
        config={"conditions": [{"when": {"field": "opened", "op": "is", "node": day2.pk}}]}
    )
    refusal = "“Three ways to grow” is used by “Hot?” and “Clicked?”: change those first."
    preview = client_in.get(_url(journey, f"node/{day2.pk}/remove/"), **HTMX).content.decode()
    assert refusal in preview
    assert "Remove the node</button>" not in preview and ">Cancel</a>" in preview
    edges = set(Edge.objects.values_list("source_id", "port", "target_id"))
    refused = client_in.post(_url(journey, f"node/{day2.pk}/remove/"), **HTMX)
    assert refused.status_code == 400
    assert refused["HX-Retarget"] == "#node-panel" and refusal in refused.content.decode()
    assert Node.objects.filter(pk=day2.pk).exists()
    assert set(Edge.objects.values_list("source_id", "port", "target_id")) == edges
    # Once the wait-until waits for any email and the branch asks something else, it goes.
    client_in.post(
        _url(journey, f"node/{clicked.pk}/"),
        {"name": "Clicked?", "event": "clicked", "timeout_amount": "3", "timeout_unit": "days"},
    )
    Node.objects.filter(pk=hot.pk).update(
        config={"conditions": [{"when": {"field": "temperature", "op": "is", "value": "hot"}}]}
    )
    preview = client_in.get(_url(journey, f"node/{day2.pk}/remove/"), **HTMX).content.decode()
    assert "is used by" not in preview and "Remove the node</button>" in preview
    assert client_in.post(_url(journey, f"node/{day2.pk}/remove/")).status_code == 302
    assert not Node.objects.filter(pk=day2.pk).exists()


def test_the_remove_link_and_its_cancel_swap_inside_the_panel(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    wait = _node(journey, "Wait")
    form = client_in.get(_url(journey, f"node/{wait.pk}/"), **HTMX).content.decode()
    # Inside the node form (which swaps the whole editor): its own target and swap.
    assert (
        f'hx-get="{_url(journey, f"node/{wait.pk}/remove/")}" hx-target="#node-panel" '
        'hx-swap="innerHTML"' in form
    )
    confirm = client_in.get(_url(journey, f"node/{wait.pk}/remove/"), **HTMX).content.decode()
    assert (
        f'hx-get="{_url(journey, f"node/{wait.pk}/")}" hx-target="#node-panel" '
        'hx-swap="innerHTML">Cancel</a>' in confirm
    )


def test_a_wait_until_can_wait_for_an_open_of_a_given_email(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    clicked, day2 = _node(journey, "Clicked?"), _node(journey, "Three ways to grow")
    url = _url(journey, f"node/{clicked.pk}/")
    assert '<option value="opened">opened an email</option>' in (
        client_in.get(url, **HTMX).content.decode()
    )
    saved = client_in.post(
        url,
        {
            "name": "Opened?",
            "event": "opened",
            "email_node": day2.pk,
            "timeout_amount": "2",
            "timeout_unit": "days",
        },
    )
    assert saved.status_code == 302
    clicked.refresh_from_db()
    assert clicked.config == {
        "event": {"field": "opened", "node": day2.pk},
        "timeout": {"amount": 2, "unit": "days"},
    }
    page = client_in.get(_url(journey)).content.decode()
    assert "until opened “Three ways to grow”, at most 2 days" in page


def test_the_sms_count_says_how_far_a_text_is_over_the_limit(client_in: Client) -> None:
    journey = journeys.build(
        name="Texts", nodes={"sms": node(Node.Kind.SMS, "Text", body="Hi")}, edges=[], start="sms"
    )
    body = "Grüße ✓ " * 274 + "abcdefg"  # 2,199 characters, none of GSM-7's
    assert len(body) == 2199
    live = client_in.post(_url(journey, "sms-segments/"), {"body": body}, **HTMX)
    assert live.content.decode() == (
        "2199 characters (UCS-2): 33 segments of up to 67. "
        "Over the 1,600-character limit by 599: shorten it to save."
    )
    at_limit = client_in.post(_url(journey, "sms-segments/"), {"body": "x" * 1600}, **HTMX)
    assert at_limit.content.decode() == "1600 characters (GSM-7): 11 segments of up to 153."


def test_re_entry_after_zero_days_is_a_field_error(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    response = client_in.post(
        reverse("admin:nurture_journey_change", args=[journey.pk]),
        {
            "name": journey.name,
            "status": journey.status,
            "reentry": "every_n_days",
            "reentry_days": "0",
            "window_start_hour": "9",
            "window_end_hour": "17",
            "weekdays": ["0"],
            "fallback_time_zone": "UTC",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter at least 1 day." in html and "sequence_reentry_days" not in html
    assert response.context["adminform"].form.errors == {"reentry_days": ["Enter at least 1 day."]}
    journey.refresh_from_db()
    assert journey.reentry_days == 30


def test_the_journey_pages_have_the_admins_breadcrumbs(client_in: Client) -> None:
    journey, _ = _enrolled(1)
    for name, here in (("map", "Map"), ("dryrun", "Dry run"), ("report", "Report")):
        html = client_in.get(reverse(f"admin:nurture_journey_{name}", args=[journey.pk]))
        html = html.content.decode()
        crumbs = re.search(r'<ol class="breadcrumbs">(.*?)</ol>', html, re.S)
        assert crumbs, name
        items = re.findall(r"<li[^>]*>(.*?)</li>", crumbs.group(1), re.S)
        assert [re.sub("<[^>]+>", "", item) for item in items] == [
            "Home",
            "Nurture",
            "Journeys",
            "Consultation journey",
            here,
        ]
        # The sheet that wraps a long journey name applies to these pages too.
        assert "model-journey" in re.search(r"<body[^>]*>", html).group(0)
        assert "leadfunnel/journey-map.css" in html
