"""Effect nodes end to end: a task for sales, an update of the lead, a notification.

The journey enters through the trigger service, its effect runs (eagerly) on commit, and
the tick moves the lead on; reps see their tasks through HTTP as they work them.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from capture.models import Lead
from nurture.models import Enrollment, Node, PathStep, Sequence
from nurture.services import actions, advancing, journeys, triggers
from sales.models import LeadChange, Note, RepProfile, Task
from sales.services.journey_actions import JOURNEY_AUTHOR, perform_journey_action
from tests.factories import LeadFactory
from tests.journeys.builders import email, node
from tests.sales.support import make_rep
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks.models import EventType

pytestmark = pytest.mark.django_db(transaction=True)

# Monday 2 March 2026, 10:00 UTC.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    # A real HTTP server on 127.0.0.1: the SSRF guard allows it as in development.
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


def _journey(effect: dict, *, name: str = "Effects journey", then: dict | None = None) -> Sequence:
    nodes = {"effect": effect}
    edges = []
    if then is not None:
        nodes["then"] = then
        edges.append(("effect", "next", "then"))
    return journeys.build(
        name=name,
        nodes=nodes,
        edges=edges,
        start="effect",
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
        hand_hot_leads_to_sales=False,  # a journey for leads sales works: their tasks
    )


def _enter(lead: Lead, journey: Sequence, at: datetime = MONDAY) -> Enrollment:
    """Enter and tick once: the effect runs on the arrival's commit, the tick moves on."""
    with time_machine.travel(at, tick=False):
        enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
        assert enrollment is not None
        advancing.advance_all_due(now=at)
    enrollment.refresh_from_db()
    return enrollment


def _step(enrollment: Enrollment, kind: str) -> PathStep:
    return PathStep.objects.get(enrollment=enrollment, node_kind=kind)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _today_titles(html: str) -> list[str]:
    section = re.search(r'<ul class="list-group" id="tasks-today">(.*?)</ul>', html, re.S)
    assert section is not None, "no Tasks for today list"
    return re.findall(r"<strong>(.*?)</strong>", section.group(1))


# -- task for sales -------------------------------------------------------------------


def test_a_task_node_gives_the_owner_a_task_seen_on_the_dashboard_and_lead_page(
    receiver: Receiver,
) -> None:
    EndpointFactory(url=receiver.url, secret=receiver.secret, events=[EventType.TASK_CREATED])
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, first_name="Ada", last_name="Lovelace", time_zone="UTC")
    journey = _journey(
        node(
            Node.Kind.TASK, "Call", title="Call {{ name }}", note="Asked for pricing", due_hours=4
        ),
        then=email("After the call"),
    )

    enrollment = _enter(lead, journey)

    task = Task.objects.get()
    assert (task.lead_id, task.owner_id, task.title, task.note) == (
        lead.pk,
        rita.pk,
        "Call Ada Lovelace",
        "Asked for pricing",
    )
    assert task.due_at == MONDAY + timedelta(hours=4)
    assert (task.source, task.source_ref) == (
        Task.Source.JOURNEY,
        f"journey:{enrollment.pk}:{journey.start_node_id}",
    )
    step = _step(enrollment, Node.Kind.TASK)
    assert step.effect == "done"
    assert step.result == "task “Call Ada Lovelace” for rita due Mon 02 Mar 14:00 UTC"
    # The lead moved on past the task to the next node.
    assert enrollment.current_node.name == "After the call"

    # task.created reached the subscribed receiver, as for a task made by hand.
    [event] = [r for r in receiver.received if r.json["type"] == "task.created"]
    assert event.signature_valid
    assert event.json["data"]["task"]["source"] == "journey"
    assert event.json["data"]["task"]["source_ref"] == task.source_ref

    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        client = _client(rita)
        assert _today_titles(client.get("/sales/").content.decode()) == ["Call Ada Lovelace"]
        page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
        open_list = re.search(r'id="open-tasks">(.*?)</ul>', page, re.S)
        assert open_list is not None and "Call Ada Lovelace" in open_list.group(1)

        response = client.post(f"/sales/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert "Done: Call Ada Lovelace" in response.content.decode()
        assert "Nothing due today." in client.get("/sales/").content.decode()
    task.refresh_from_db()
    assert task.completed_by == rita


def test_an_unowned_lead_gets_the_round_robin_rep_who_then_owns_it() -> None:
    make_rep("rita")
    sam = make_rep("sam")
    RepProfile.objects.filter(user__username="rita").update(last_assigned_at=MONDAY)
    lead = LeadFactory(owner=None, time_zone="UTC")

    _enter(lead, _journey(node(Node.Kind.TASK, "Call", title="Call back")))

    task = Task.objects.get()
    assert task.owner == sam
    lead.refresh_from_db()
    assert lead.owner == sam  # the next task goes to the same rep


def test_round_robin_gives_the_task_to_the_next_rep_even_for_an_owned_lead() -> None:
    rita = make_rep("rita")
    sam = make_rep("sam")
    RepProfile.objects.filter(user=sam).update(last_assigned_at=MONDAY)
    lead = LeadFactory(owner=sam, time_zone="UTC")

    _enter(lead, _journey(node(Node.Kind.TASK, "Call", title="Call", owner="round_robin")))

    assert Task.objects.get().owner == rita


def test_due_in_business_days_counts_in_the_owners_zone_and_skips_the_weekend() -> None:
    rita = make_rep("rita", time_zone="America/New_York")
    lead = LeadFactory(owner=rita, time_zone="UTC")
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST)

    _enter(
        lead, _journey(node(Node.Kind.TASK, "Call", title="Call", due_business_days=1)), at=friday
    )

    # Monday 10:00 in New York, which is EDT (UTC-4) after the 8 March change.
    assert Task.objects.get().due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_with_nobody_to_give_it_to_the_task_is_refused_and_the_lead_moves_on() -> None:
    lead = LeadFactory(owner=None, time_zone="UTC")

    enrollment = _enter(lead, _journey(node(Node.Kind.TASK, "Call", title="Call")))

    assert not Task.objects.exists()
    step = _step(enrollment, Node.Kind.TASK)
    assert step.result.startswith("refused: The lead has no owner and no rep takes round-robin")
    assert enrollment.state == Enrollment.State.COMPLETED


def test_bad_task_config_is_refused_with_a_clear_result_and_nothing_written() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita)

    result = perform_journey_action(
        action="task",
        lead_id=lead.pk,
        enrollment_id=1,
        node_id=1,
        config={"title": "Call", "due_hours": "soon"},
    )

    assert result == "refused: due_hours must be a whole number."
    assert not Task.objects.exists()


def test_the_same_visit_never_makes_two_tasks() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, time_zone="UTC")
    enrollment = _enter(lead, _journey(node(Node.Kind.TASK, "Call", title="Call")))
    node_id = enrollment.sequence.start_node_id

    # The effect task delivered twice: the second finds the row claimed and does nothing.
    assert actions.run_effect(enrollment_id=enrollment.pk, node_id=node_id) == "not claimed"
    # And the sales side, asked twice for one visit, answers with the first task.
    again = perform_journey_action(
        action="task",
        lead_id=lead.pk,
        enrollment_id=enrollment.pk,
        node_id=node_id,
        config={"title": "Call"},
    )
    assert again.startswith("task “Call” for rita")
    assert Task.objects.count() == 1


# -- at most once ---------------------------------------------------------------------


def test_run_effect_twice_for_one_visit_performs_once() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, time_zone="UTC")
    journey = _journey(node(Node.Kind.UPDATE, "Note", action="note", text="Saw pricing"))
    with time_machine.travel(MONDAY, tick=False):
        enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
    assert enrollment is not None
    step = _step(enrollment, Node.Kind.UPDATE)
    # Put the row back as the tick left it, before the (eager) effect ran.
    Note.objects.all().delete()
    PathStep.objects.filter(pk=step.pk).update(effect="pending", result="")

    first = actions.run_effect(enrollment_id=enrollment.pk, node_id=journey.start_node_id)
    second = actions.run_effect(enrollment_id=enrollment.pk, node_id=journey.start_node_id)

    assert first == "note added: “Saw pricing”" and second == "not claimed"
    assert Note.objects.count() == 1
    step.refresh_from_db()
    assert (step.effect, step.result) == ("done", first)


def test_a_worker_killed_mid_effect_leaves_it_running_and_the_lead_moves_on() -> None:
    lead = LeadFactory(time_zone="UTC")
    journey = _journey(
        node(Node.Kind.UPDATE, "Note", action="note", text="Saw pricing"),
        then=email("Next"),
    )
    with time_machine.travel(MONDAY, tick=False):
        enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
    assert enrollment is not None
    step = _step(enrollment, Node.Kind.UPDATE)
    Note.objects.all().delete()
    # A worker claimed the row (pending → running) and died before it finished.
    PathStep.objects.filter(pk=step.pk).update(effect="running", result="")

    assert actions.run_effect(enrollment_id=enrollment.pk, node_id=step.node_id) == "not claimed"
    assert not Note.objects.exists()  # never performed twice
    later = MONDAY + timedelta(minutes=11)
    with time_machine.travel(later, tick=False):
        advancing.advance_all_due(now=later)
    enrollment.refresh_from_db()
    assert enrollment.current_node.name == "Next"
    step.refresh_from_db()
    assert step.effect == "running"
    assert PathStep.objects.get(enrollment=enrollment, node__name="Next").via == (
        "Update lead: not confirmed"
    )


# -- update ---------------------------------------------------------------------------


def test_an_update_node_moves_the_stage_recorded_as_the_journeys() -> None:
    lead = LeadFactory(time_zone="UTC")
    journey = _journey(
        node(Node.Kind.UPDATE, "Contacted", action="stage", stage="contacted"),
        name="Pricing follow-up",
    )

    enrollment = _enter(lead, journey)

    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.CONTACTED
    change = LeadChange.objects.get(field=LeadChange.Field.STAGE)
    assert (change.actor, change.new_value, change.reason) == (
        None,
        "contacted",
        "Journey: Pricing follow-up",
    )
    assert _step(enrollment, Node.Kind.UPDATE).result == "stage → contacted"


def test_an_update_node_sets_a_safe_field_and_a_qualifying_answer() -> None:
    lead = LeadFactory(time_zone="UTC", company="Old Co", answers={"Budget?": "none"})
    journey = journeys.build(
        name="Enrich",
        nodes={
            "company": node(
                Node.Kind.UPDATE,
                "Company",
                action="field",
                field="company",
                value="  Analytical   Engines  ",
            ),
            "size": node(
                Node.Kind.UPDATE, "Size", action="field", field="company_size", value="50-249"
            ),
            "answer": node(
                Node.Kind.UPDATE,
                "Answer",
                action="field",
                field="answer",
                key="Budget?",
                value="over 10k",
            ),
        },
        edges=[("company", "next", "size"), ("size", "next", "answer")],
        start="company",
    )

    enrollment = _enter(lead, journey)
    for minute in (1, 2, 3):
        at = MONDAY + timedelta(minutes=minute)
        with time_machine.travel(at, tick=False):
            advancing.advance_all_due(now=at)

    lead.refresh_from_db()
    assert (lead.company, lead.company_size) == ("Analytical Engines", "50-249")
    assert lead.answers == {"Budget?": "over 10k"}
    results = list(PathStep.objects.filter(enrollment=enrollment).values_list("result", flat=True))
    assert results == [
        "company → “Analytical Engines”",
        "company_size → “50-249”",
        "answer to “Budget?” → “over 10k”",
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"field": "email", "value": "evil@example.com"}, "A journey cannot set “email”"),
        ({"field": "owner", "value": "1"}, "A journey cannot set “owner”"),
        ({"field": "company_size", "value": "huge"}, "Company size is one of"),
        ({"field": "company", "value": "x" * 201}, "Keep company under 200 characters."),
        ({"field": "answer", "value": "yes"}, "Say which question's answer to set."),
        ({"field": "company", "value": {"nested": 1}}, "Give the field a text value."),
    ],
)
def test_an_update_of_an_unsafe_or_bad_field_is_refused_and_nothing_written(
    config: dict, message: str
) -> None:
    lead = LeadFactory(email="ada@example.com", company="Old Co", company_size="", owner=None)

    enrollment = _enter(lead, _journey(node(Node.Kind.UPDATE, "Bad", action="field", **config)))

    step = _step(enrollment, Node.Kind.UPDATE)
    assert step.result.startswith(f"refused: {message}")
    assert step.effect == "done"
    lead.refresh_from_db()
    assert (lead.email, lead.company, lead.company_size, lead.owner_id) == (
        "ada@example.com",
        "Old Co",
        "",
        None,
    )
    assert enrollment.state == Enrollment.State.COMPLETED  # the lead moved on


def test_an_unknown_update_action_is_refused() -> None:
    lead = LeadFactory()
    enrollment = _enter(lead, _journey(node(Node.Kind.UPDATE, "Odd", action="delete")))
    assert _step(enrollment, Node.Kind.UPDATE).result == (
        "refused: unknown update “delete” (stage, field or note)"
    )


def test_an_update_node_adds_a_note_the_rep_sees_on_the_lead_page() -> None:
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, email="ada@example.com", first_name="Ada", last_name="L")
    journey = _journey(
        node(
            Node.Kind.UPDATE, "Note", action="note", text="{{ name }} <b>viewed</b> pricing twice"
        ),
    )

    enrollment = _enter(lead, journey)

    note = Note.objects.get()
    assert note.body == "Ada L <b>viewed</b> pricing twice"
    assert note.author.username == JOURNEY_AUTHOR
    assert not note.author.is_active and not note.author.has_usable_password()
    assert _step(enrollment, Node.Kind.UPDATE).result == (
        "note added: “Ada L <b>viewed</b> pricing twice”"
    )
    page = _client(rita).get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "Ada L &lt;b&gt;viewed&lt;/b&gt; pricing twice" in page
    assert "<b>viewed</b>" not in page


# -- notify ---------------------------------------------------------------------------


def test_notify_emails_the_owner_with_the_leads_values_as_plain_text() -> None:
    rita = make_rep("rita", email="rita@leadfunnel.example")
    lead = LeadFactory(owner=rita, email="ada@example.com", first_name="Ada", last_name="L")
    journey = _journey(
        node(
            Node.Kind.NOTIFY,
            "Tell the owner",
            to="owner",
            address="team@leadfunnel.example",
            subject="Hot: {{ name }}\nBcc: x@evil.example",
            message="{{ name }} ({{ email }}) viewed pricing.",
        ),
    )

    enrollment = _enter(lead, journey)

    [message] = mail.outbox
    assert message.to == ["rita@leadfunnel.example"]
    assert message.subject == "Hot: Ada L Bcc: x@evil.example"  # one line, no header added
    assert message.body == "Ada L (ada@example.com) viewed pricing."
    assert _step(enrollment, Node.Kind.NOTIFY).result == "notified rita@leadfunnel.example"


def test_notify_falls_back_to_the_team_address_when_the_lead_has_no_owner() -> None:
    lead = LeadFactory(owner=None, email="ada@example.com")
    journey = _journey(
        node(Node.Kind.NOTIFY, "Tell", to="owner", address="team@leadfunnel.example"),
        name="Pricing",
    )

    _enter(lead, journey)

    [message] = mail.outbox
    assert message.to == ["team@leadfunnel.example"]
    assert message.subject == "Lead update: ada@example.com"
    assert message.body == "ada@example.com reached “Tell” in Pricing."


def test_notify_with_nobody_to_tell_says_so() -> None:
    lead = LeadFactory(owner=None)
    enrollment = _enter(lead, _journey(node(Node.Kind.NOTIFY, "Tell", to="team")))
    assert mail.outbox == []
    assert _step(enrollment, Node.Kind.NOTIFY).result == (
        "nobody to notify (no owner and no team address)"
    )


def test_notify_posts_slack_style_json_to_a_webhook(receiver: Receiver) -> None:
    lead = LeadFactory(email="ada@example.com", first_name="Ada", last_name="L")
    journey = _journey(
        node(
            Node.Kind.NOTIFY,
            "Slack",
            to="webhook",
            url=receiver.url,
            message='{{ name }} said "hi" <@channel>',
        ),
    )

    enrollment = _enter(lead, journey)

    [request] = receiver.received
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"text": 'Ada L said "hi" <@channel>'}
    assert _step(enrollment, Node.Kind.NOTIFY).result == "posted to the team's channel"
    assert mail.outbox == []


def test_notify_escapes_the_leads_values_for_slack_but_not_the_marketers_text(
    receiver: Receiver,
) -> None:
    lead = LeadFactory(
        first_name="<!channel>", last_name="", company="<https://evil.example|Open lead> & co"
    )
    journey = _journey(
        node(
            Node.Kind.NOTIFY,
            "Slack",
            to="webhook",
            url=receiver.url,
            message="<!here> {{ first_name }} of {{ company }} asked for pricing",
        ),
    )

    _enter(lead, journey)

    [request] = receiver.received
    assert request.json == {
        "text": "<!here> &lt;!channel&gt; of &lt;https://evil.example|Open lead&gt; &amp; co "
        "asked for pricing"
    }


def test_a_task_title_offers_the_same_merge_fields_as_an_email(settings: Any) -> None:
    settings.SITE_URL = "https://leads.example"
    rita = make_rep("rita")
    lead = LeadFactory(owner=rita, first_name="Ada", company="Engines <Ltd>", time_zone="UTC")
    journey = _journey(
        node(
            Node.Kind.TASK,
            "Call",
            title="Pricing interest: call {{ first_name }} at {{ company }}",
            note="{{ job_title }}; site {{ site_url }}; {{ unknown }} stays",
            due_hours=4,
        ),
    )

    _enter(lead, journey)

    task = Task.objects.get()
    assert task.title == "Pricing interest: call Ada at Engines <Ltd>"
    assert task.note == f"{lead.job_title}; site https://leads.example; {{{{ unknown }}}} stays"
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        client = _client(rita)
        dashboard = client.get("/sales/").content.decode()
        page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert _today_titles(dashboard) == ["Pricing interest: call Ada at Engines &lt;Ltd&gt;"]
    assert "Pricing interest: call Ada at Engines &lt;Ltd&gt;" in page
    assert "{{ first_name }}" not in dashboard + page


def test_a_task_for_a_lead_without_a_first_name_names_whom_to_call() -> None:
    lead = LeadFactory(owner=make_rep("rita"), first_name="", last_name="", email="x@example.com")
    _enter(lead, _journey(node(Node.Kind.TASK, "Call", title="Call {{ first_name }}")))
    assert Task.objects.get().title == "Call x@example.com"


def test_notify_to_a_private_address_is_refused_by_the_ssrf_guard(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    lead = LeadFactory()
    journey = _journey(
        node(Node.Kind.NOTIFY, "Slack", to="webhook", url="https://169.254.169.254/latest/"),
    )

    enrollment = _enter(lead, journey)

    result = _step(enrollment, Node.Kind.NOTIFY).result
    assert result.startswith("post failed: Refused:")
    assert enrollment.state == Enrollment.State.COMPLETED


def test_an_update_to_a_stage_sales_does_not_work_is_refused() -> None:
    lead = LeadFactory()
    enrollment = _enter(
        lead, _journey(node(Node.Kind.UPDATE, "Odd", action="stage", stage="sales_ready"))
    )
    assert _step(enrollment, Node.Kind.UPDATE).result == (
        "refused: Choose a stage: contacted, booked, won or lost."
    )
    assert not LeadChange.objects.filter(field=LeadChange.Field.STAGE).exists()


def test_an_update_to_won_ends_the_journey_as_sales_would() -> None:
    lead = LeadFactory()
    journey = _journey(
        node(Node.Kind.UPDATE, "Won", action="stage", stage="won"), then=email("Never sent")
    )

    enrollment = _enter(lead, journey)

    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.WON
    assert enrollment.state != Enrollment.State.ACTIVE
    assert _step(enrollment, Node.Kind.UPDATE).result == "stage → won"
    assert mail.outbox == []
