"""A rep's actions on a lead: each writes its audit row, bad input writes nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from nurture.models import Delivery, Enrollment
from nurture.services.scheduling import enroll_lead
from sales.models import Handoff, LeadChange, Note
from sales.services.leads import ActionRefused, move_stage, stop_sequences
from tests.factories import LeadFactory, UserFactory, marketer, playbook_sequence, sales_rep
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _post(client: Client, name: str, lead: Lead, **data: Any) -> Any:
    return client.post(reverse(name, args=[lead.pk]), data)


def _nothing_written(lead: Lead, *, stage: str = "new", owner: Any = None) -> None:
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.stage, fresh.owner) == (stage, owner)
    assert not LeadChange.objects.filter(lead=lead).exists()
    assert not Note.objects.filter(lead=lead).exists()


def test_claiming_makes_me_the_owner_on_the_record(client: Client) -> None:
    rep = make_rep("ann")
    lead = LeadFactory()
    Handoff.objects.create(lead=lead, turned_hot_at=NOW - timedelta(minutes=3))
    client.force_login(rep)
    response = _post(client, "sales:take", lead, next="/sales/?temperature=hot")
    assert response.status_code == 302 and response["Location"] == "/sales/?temperature=hot"
    assert Lead.objects.get(pk=lead.pk).owner == rep
    change = LeadChange.objects.get(lead=lead)
    assert (change.field, change.old_value, change.new_value, change.actor, change.at) == (
        "owner",
        "",
        "ann",
        rep,
        NOW,
    )
    assert Handoff.objects.get(lead=lead).rep == rep, "the hot episode follows the claim"


def test_an_unsafe_next_is_ignored(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(sales_rep())
    response = _post(client, "sales:take", lead, next="https://evil.example/")
    assert response["Location"] == reverse("sales:lead", args=[lead.pk])


def test_a_lead_owned_by_someone_else_cannot_be_claimed(client: Client) -> None:
    bob = make_rep("bob")
    lead = LeadFactory(owner=bob)
    client.force_login(sales_rep())
    response = _post(client, "sales:take", lead)
    assert response.status_code == 409
    assert "bob already owns this lead; reassign it instead." in response.content.decode()
    _nothing_written(lead, owner=bob)


def test_reassigning_goes_to_an_active_rep_only(client: Client) -> None:
    ann, bob = make_rep("ann"), make_rep("bob")
    gone = make_rep("gone")
    gone.is_active = False
    gone.save()
    lead = LeadFactory(owner=ann)
    client.force_login(ann)
    for owner in (gone.pk, marketer().pk, "x", ""):
        response = _post(client, "sales:reassign", lead, owner=owner)
        assert response.status_code == 400
        assert "Choose an active sales rep" in response.content.decode()
    _nothing_written(lead, owner=ann)
    assert _post(client, "sales:reassign", lead, owner=ann.pk).status_code == 409
    response = _post(client, "sales:reassign", lead, owner=bob.pk, reason="  On holiday ")
    assert response.status_code == 302
    change = LeadChange.objects.get(lead=lead)
    assert (change.old_value, change.new_value, change.reason, change.actor) == (
        "ann",
        "bob",
        "On holiday",
        ann,
    )
    assert Lead.objects.get(pk=lead.pk).owner == bob


@pytest.mark.parametrize(
    ("stage", "exit_reason"), [("booked", "booked"), ("won", "won"), ("lost", "lost")]
)
def test_booked_won_and_lost_stop_the_sequences(
    client: Client, stage: str, exit_reason: str
) -> None:
    lead = LeadFactory()
    enroll_lead(lead=lead, sequence=playbook_sequence(), now=NOW)
    client.force_login(sales_rep())
    response = _post(client, "sales:move_stage", lead, stage=stage, reason="Budget went elsewhere")
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(lead=lead)
    assert (enrollment.state, enrollment.exit_reason) == ("exited", exit_reason)
    pending = Delivery.objects.filter(enrollment=enrollment, status__in=["scheduled", "queued"])
    assert not pending.exists()
    change = LeadChange.objects.get(lead=lead)
    assert (change.field, change.old_value, change.new_value) == ("stage", "nurturing", stage)


def test_contacted_keeps_the_sequence_and_is_the_first_contact(client: Client) -> None:
    lead = LeadFactory()
    enroll_lead(lead=lead, sequence=playbook_sequence(), now=NOW)
    Handoff.objects.create(lead=lead, turned_hot_at=NOW - timedelta(minutes=7))
    client.force_login(sales_rep())
    assert _post(client, "sales:move_stage", lead, stage="contacted").status_code == 302
    assert Enrollment.objects.get(lead=lead).state == "active"
    assert Handoff.objects.get(lead=lead).first_contact_at == NOW


def test_bad_stage_moves_answer_4xx_and_write_nothing(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(sales_rep())
    lost = _post(client, "sales:move_stage", lead, stage="lost", reason="   ")
    assert lost.status_code == 400 and "Say why the lead was lost." in lost.content.decode()
    assert 'value="lost" selected' in lost.content.decode(), "the form keeps what was chosen"
    for data in ({"stage": "nurturing"}, {"stage": ""}, {"stage": "won", "reason": "x" * 301}):
        assert _post(client, "sales:move_stage", lead, **data).status_code == 400
    _nothing_written(lead)
    _post(client, "sales:move_stage", lead, stage="won")
    again = _post(client, "sales:move_stage", lead, stage="won")
    assert again.status_code == 409 and "already won" in again.content.decode()


def test_notes_and_calls_are_recorded_with_their_author(client: Client) -> None:
    rep = make_rep("ann")
    lead = LeadFactory()
    Handoff.objects.create(lead=lead, turned_hot_at=NOW - timedelta(hours=1))
    client.force_login(rep)
    assert (
        _post(client, "sales:add_note", lead, body="Prefers email", kind="note").status_code == 302
    )
    assert Handoff.objects.get(lead=lead).first_contact_at is None, "a note is not a contact"
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert (
            _post(
                client,
                "sales:add_note",
                lead,
                body="Spoke 10 min",
                kind="call",
                outcome="connected",
            ).status_code
            == 302
        )
    with time_machine.travel(NOW + timedelta(minutes=50), tick=False):
        _post(client, "sales:add_note", lead, body="Second call", kind="call", outcome="no_answer")
    notes = list(
        Note.objects.filter(lead=lead)
        .order_by("created_at")
        .values_list("kind", "body", "author__username")
    )
    assert notes == [
        ("note", "Prefers email", "ann"),
        ("call", "Spoke 10 min", "ann"),
        ("call", "Second call", "ann"),
    ]
    assert Handoff.objects.get(lead=lead).first_contact_at == NOW + timedelta(minutes=5)


def test_empty_or_odd_notes_are_refused(client: Client) -> None:
    lead = LeadFactory()
    client.force_login(sales_rep())
    for data, message in (
        ({"body": "  "}, "The note is empty."),
        ({"body": "x" * 5001}, "Keep it under 5000 characters"),
        ({"body": "hi", "kind": "fax"}, "either a note or a call"),
    ):
        response = _post(client, "sales:add_note", lead, **data)
        assert response.status_code == 400 and message in response.content.decode()
    _nothing_written(lead)


def test_stopping_a_sequence_exits_it_by_hand(client: Client) -> None:
    lead = LeadFactory()
    first, second = playbook_sequence(name="First"), playbook_sequence(name="Second")
    enroll_lead(lead=lead, sequence=first, now=NOW)
    enroll_lead(lead=lead, sequence=second, now=NOW)
    rep = sales_rep()
    client.force_login(rep)
    assert _post(client, "sales:stop_sequence", lead, sequence=first.pk).status_code == 302
    states = dict(Enrollment.objects.filter(lead=lead).values_list("sequence__name", "exit_reason"))
    assert states == {"First": "manual", "Second": ""}
    change = LeadChange.objects.get(lead=lead)
    assert (change.field, change.old_value, change.actor) == ("sequence", "First", rep)
    again = _post(client, "sales:stop_sequence", lead, sequence=first.pk)
    assert again.status_code == 409 and "no active sequence" in again.content.decode()
    assert _post(client, "sales:stop_sequence", lead, sequence="x").status_code == 400


def test_services_refuse_before_writing() -> None:
    lead = LeadFactory()
    actor = UserFactory()
    with pytest.raises(ActionRefused) as refused:
        move_stage(lead_id=lead.pk, actor=actor, stage="lost")
    assert refused.value.status == 400
    with pytest.raises(ActionRefused):
        stop_sequences(lead_id=lead.pk, actor=actor)
    with pytest.raises(Lead.DoesNotExist):
        move_stage(lead_id=999999, actor=actor, stage="won")
    _nothing_written(lead)


def test_it_logs_a_call_with_its_outcome_and_shows_it_on_the_timeline() -> None:
    lead = LeadFactory(phone="+442079460000")
    client = Client()
    client.force_login(sales_rep())
    for outcome in ("", "busy"):
        refused = _post(client, "sales:add_note", lead, body="Rang", kind="call", outcome=outcome)
        assert refused.status_code == 400
        assert (
            "Choose how the call went (connected, left a voicemail, no answer, wrong number, "
            "meeting set)." in refused.content.decode()
        )
        assert "Rang</textarea>" in refused.content.decode(), "the form keeps the summary"
    note_with_outcome = _post(
        client, "sales:add_note", lead, body="Prefers email", kind="note", outcome="connected"
    )
    assert note_with_outcome.status_code == 302, "a note ignores the call outcome select"
    assert not Note.objects.exclude(outcome="").exists()
    Note.objects.all().delete()
    done = _post(
        client, "sales:add_note", lead, body="Booked Tuesday", kind="call", outcome="meeting_set"
    )
    assert done.status_code == 302
    assert list(Note.objects.values_list("kind", "outcome", "body")) == [
        ("call", "meeting_set", "Booked Tuesday")
    ]
    page = client.get(reverse("sales:lead", args=[lead.pk])).content.decode()
    assert "Call: Meeting set" in page
    assert '<a href="tel:+442079460000">+442079460000</a>' in page
