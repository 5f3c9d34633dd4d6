"""Sales having a lead shows at once: a rep taking or being given a lead ends its hand-off
journeys in the same request (not days later, when the next drip email is refused), and a
lead booked, won or lost has its hand-off call task closed, which is no call made."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from nurture.models import Enrollment, Sequence
from nurture.services.scheduling import enroll_lead
from nurture.tokens import booking_token
from sales.models import Handoff, LeadChange, Note, RepProfile, SalesSettings, Task
from sales.selectors import lead_workspace, rep_speed_to_contact
from sales.services.handoff import open_handoff
from sales.services.tasks import create_task
from tests.api.conftest import token_client
from tests.factories import LeadFactory, playbook_sequence
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
# Tuesday 1 December 2026, 09:00 UTC.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _enrolled(lead: Lead, sequence: Sequence, callbacks: Any) -> Enrollment:
    # The worker has not run: Day 1, the confirmation, is still queued.
    with callbacks(execute=False):
        enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None and enrollment.state == Enrollment.State.ACTIVE
    return enrollment


@pytest.fixture
def warm_lead(django_capture_on_commit_callbacks: Any) -> tuple[Lead, Enrollment, Enrollment]:
    """An unowned warm lead in a hand-off drip and in a journey with the hand-off off."""
    lead = LeadFactory(email="maria@example.com", first_name="Maria", temperature="warm")
    drip = playbook_sequence(name="Welcome drip", hand_hot_leads_to_sales=True)
    own_leads = playbook_sequence(name="Customer news", hand_hot_leads_to_sales=False)
    return (
        lead,
        _enrolled(lead, drip, django_capture_on_commit_callbacks),
        _enrolled(lead, own_leads, django_capture_on_commit_callbacks),
    )


def _assert_handed_to_sales(drip: Enrollment, own_leads: Enrollment) -> None:
    drip.refresh_from_db()
    assert (drip.state, drip.exit_reason) == ("exited", "handed_to_sales")
    assert drip.ended_at == NOW
    # The Day-1 confirmation the prospect asked for still goes; nothing after it does.
    days = list(drip.deliveries.order_by("step__day").values_list("step__day", "status"))
    assert days == [
        (1, "queued"),
        (2, "cancelled"),
        (3, "cancelled"),
        (5, "cancelled"),
        (7, "cancelled"),
    ]
    own_leads.refresh_from_db()
    assert own_leads.state == Enrollment.State.ACTIVE
    assert not own_leads.deliveries.filter(status="cancelled").exists()


def test_taking_a_lead_on_its_page_stops_its_hand_off_drip_at_once(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    lead, drip, own_leads = warm_lead
    ann = make_rep("ann")
    client = _client(ann)
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert page.count("Pause sequence") == 2, "the rep is told both are running"

    response = client.post(reverse("sales:take", args=[lead.pk]))

    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).owner == ann
    _assert_handed_to_sales(drip, own_leads)
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    sequences = page[page.index('id="sequences"') :][:3000]
    assert "Nothing sent yet, stopped: Handed to sales" in sequences
    assert sequences.count("Pause sequence") == 1, "only the journey without the hand-off"


def test_claiming_on_the_dashboard_stops_the_drip_too(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    lead, drip, own_leads = warm_lead
    ann = make_rep("ann")

    response = _client(ann).post(reverse("sales:take", args=[lead.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "ann" in response.content.decode()
    _assert_handed_to_sales(drip, own_leads)


def test_claiming_through_the_api_stops_the_drip(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    lead, drip, own_leads = warm_lead
    ann = make_rep("ann")

    response = token_client(ann).post(
        f"/api/v1/leads/{lead.pk}/owner/", {"owner": None}, format="json"
    )

    assert response.status_code == 200, response.content
    _assert_handed_to_sales(drip, own_leads)


def test_marking_a_lead_contacted_stops_the_drip_at_once(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    lead, drip, own_leads = warm_lead
    Lead.objects.filter(pk=lead.pk).update(owner=make_rep("ann"))  # owned before the fix
    drip.refresh_from_db()
    assert drip.state == Enrollment.State.ACTIVE

    response = _client(User.objects.get(username="ann")).post(
        reverse("sales:move_stage", args=[lead.pk]), {"stage": "contacted"}
    )

    assert response.status_code == 302
    _assert_handed_to_sales(drip, own_leads)


@pytest.mark.parametrize("by", ["page", "api"])
def test_giving_a_lead_to_a_rep_stops_the_drip(
    warm_lead: tuple[Lead, Enrollment, Enrollment], by: str
) -> None:
    lead, drip, own_leads = warm_lead
    ann, bob = make_rep("ann"), make_rep("bob")

    if by == "page":
        response = _client(ann).post(
            reverse("sales:reassign", args=[lead.pk]), {"owner": bob.pk, "reason": "Bob's area"}
        )
        assert response.status_code == 302
    else:
        response = token_client(ann).post(
            f"/api/v1/leads/{lead.pk}/owner/", {"owner": bob.pk}, format="json"
        )
        assert response.status_code == 200, response.content

    assert Lead.objects.get(pk=lead.pk).owner == bob
    _assert_handed_to_sales(drip, own_leads)


def test_a_refused_claim_changes_nothing(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    lead, drip, _ = warm_lead
    ann, bob = make_rep("ann"), make_rep("bob")
    # Owned from before the hand-off ran at claim time (an import, say): still enrolled.
    Lead.objects.filter(pk=lead.pk).update(owner=bob)

    response = token_client(ann).post(
        f"/api/v1/leads/{lead.pk}/owner/", {"owner": None}, format="json"
    )

    assert response.status_code == 409
    drip.refresh_from_db()
    assert drip.state == Enrollment.State.ACTIVE


def test_a_round_robin_pick_hands_the_lead_over(
    warm_lead: tuple[Lead, Enrollment, Enrollment],
) -> None:
    """A task for an unowned lead makes the round-robin pick its owner: sales has it."""
    lead, drip, own_leads = warm_lead
    SalesSettings.objects.update_or_create(pk=1, defaults={"round_robin": True})
    ann = make_rep("ann")

    create_task(lead_id=lead.pk, title="Send the pricing", due_at=NOW + timedelta(days=1))

    assert Lead.objects.get(pk=lead.pk).owner == ann
    _assert_handed_to_sales(drip, own_leads)


def test_the_round_robin_pick_of_a_hot_lead_ends_the_drip_in_its_transaction(
    warm_lead: tuple[Lead, Enrollment, Enrollment], django_capture_on_commit_callbacks: Any
) -> None:
    lead, drip, own_leads = warm_lead
    make_rep("ann")
    Lead.objects.filter(pk=lead.pk).update(temperature="hot", stage="sales_ready")

    with django_capture_on_commit_callbacks(execute=True):
        assert open_handoff(lead_id=lead.pk, now=NOW) is not None

    _assert_handed_to_sales(drip, own_leads)


# The hand-off's call task, on a lead then booked, won or lost.


def _handed_off(rep: User, callbacks: Any) -> tuple[Lead, Task, Task]:
    """A hot lead of `rep` with its "call within 5 minutes" and the rep's own follow-up."""
    lead = LeadFactory(temperature="hot", stage="sales_ready", score=82, owner=rep)
    with callbacks(execute=True):
        assert open_handoff(lead_id=lead.pk, now=NOW) is not None
    call = Task.objects.get(lead=lead, source=Task.Source.HANDOFF)
    follow_up = Task.objects.create(
        lead=lead, owner=rep, title="Send the case study", due_at=NOW + timedelta(minutes=30)
    )
    return lead, call, follow_up


def _assert_closed_by_stage(
    call: Task, follow_up: Task, *, stage: str, actor: User | None, at: datetime
) -> None:
    call.refresh_from_db()
    change = LeadChange.objects.get(lead=call.lead, field="stage", new_value=stage)
    assert (call.outcome, call.completed_at, call.completed_by) == ("closed_by_stage", at, actor)
    assert call.completed_at == change.at, "closed by the stage change, at its moment"
    follow_up.refresh_from_db()
    assert follow_up.completed_at is None, "a rep's own task stays open"
    # Not a call: none is logged, and the hot episode has no first contact.
    assert not Note.objects.filter(lead=call.lead).exists()
    assert Handoff.objects.get(lead=call.lead).first_contact_at is None
    # The rep's timeline says why it closed.
    (entry,) = [e for e in lead_workspace(lead=call.lead).timeline if e.kind == "task"]
    assert (entry.title, entry.detail) == (
        f"Task closed: {call.title}",
        "The lead was booked, won or lost.",
    )


def test_booking_a_lead_on_its_page_closes_its_call_task(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    lead, call, follow_up = _handed_off(ann, django_capture_on_commit_callbacks)
    client = _client(ann)
    later = NOW + timedelta(minutes=20)

    with time_machine.travel(later, tick=False):
        dashboard = client.get("/sales/").content.decode()
        assert f'id="task-{call.pk}"' in dashboard
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("sales:move_stage", args=[lead.pk]), {"stage": "booked"})
        assert response.status_code == 302
        dashboard = client.get("/sales/").content.decode()
        metrics = client.get("/sales/metrics/").content.decode()

    _assert_closed_by_stage(call, follow_up, stage="booked", actor=ann, at=later)
    # Gone from "My tasks today" and from "Calls overdue"; the follow-up stays listed.
    assert f'id="task-{call.pk}"' not in dashboard
    assert f'id="task-{follow_up.pk}"' in dashboard
    speeds = dashboard[dashboard.index('id="speed-table"') :]
    assert "text-bg-danger" not in speeds[: speeds.index("</table>")]
    table = metrics[metrics.index('id="rep-speed-table"') :]
    assert "text-bg-danger" not in table[: table.index("</table>")]


@pytest.mark.parametrize(("stage", "reason"), [("won", ""), ("lost", "Went with a rival")])
def test_winning_or_losing_a_lead_through_the_api_closes_its_call_task(
    django_capture_on_commit_callbacks: Any, stage: str, reason: str
) -> None:
    ann = make_rep("ann")
    _, call, follow_up = _handed_off(ann, django_capture_on_commit_callbacks)

    response = token_client(ann).post(
        f"/api/v1/leads/{call.lead_id}/stage/", {"stage": stage, "reason": reason}, format="json"
    )

    assert response.status_code == 200, response.content
    _assert_closed_by_stage(call, follow_up, stage=stage, actor=ann, at=NOW)


def test_marking_a_lead_contacted_leaves_its_call_task_open(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    lead, call, _ = _handed_off(ann, django_capture_on_commit_callbacks)

    response = _client(ann).post(
        reverse("sales:move_stage", args=[lead.pk]), {"stage": "contacted"}
    )

    assert response.status_code == 302
    call.refresh_from_db()
    assert call.completed_at is None


def test_a_prospects_own_booking_closes_the_call_task_by_nobody(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann = make_rep("ann")
    hours = {str(day): [["09:00", "17:00"]] for day in range(7)}
    RepProfile.objects.filter(user=ann).update(time_zone="UTC", weekly_hours=hours)
    lead, call, follow_up = _handed_off(ann, django_capture_on_commit_callbacks)
    slot = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    later = NOW + timedelta(minutes=3)

    with time_machine.travel(later, tick=False):
        response = Client().post(
            f"/book/{booking_token(lead_uid=str(lead.uid))}/", {"slot": slot.isoformat()}
        )

    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.BOOKED
    _assert_closed_by_stage(call, follow_up, stage="booked", actor=None, at=later)


def test_a_call_task_closed_by_a_booking_is_no_call_within_the_target(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Booked two minutes after turning hot, with no call: not "called within 5 minutes"."""
    ann = make_rep("ann")
    lead, _, _ = _handed_off(ann, django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        _client(ann).post(reverse("sales:move_stage", args=[lead.pk]), {"stage": "booked"})

    speeds = {s.rep: s for s in rep_speed_to_contact(now=NOW + timedelta(hours=1))}

    ann_speed = speeds["ann"]
    assert (ann_speed.called_on_time, ann_speed.calls_overdue) == (0, 0)
    assert ann_speed.median_to_call is None
