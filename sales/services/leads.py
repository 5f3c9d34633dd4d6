"""A rep working a lead: claim, reassign, move the stage, notes and calls, stop sequences.

Each action is one transaction: it locks the lead row (so two reps clicking at once queue
up and the second sees the first's change), writes the lead with a conditional UPDATE that
never touches the score, and writes its audit row (LeadChange or Note) with the actor.
Bad input raises ActionRefused before anything is written. A lead given an owner leaves
its hand-off journeys in the same transaction; one booked, won or lost has its hand-off
call task closed.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce_on_commit
from leadfunnel.groups import SALES_REPS
from nurture.models import Enrollment
from nurture.services.exiting import (
    LIVE_STATES,
    exit_enrollments,
    hand_to_sales,
    pause_enrollments,
    resume_enrollments,
)
from nurture.services.exits import SALES_STAGES
from sales.models import Handoff, LeadChange, Note, RepProfile, Task
from sales.selectors.dashboard import forget_rep_speeds
from sales.signals import stage_changed

WORKABLE_STAGES = (Lead.Stage.CONTACTED, Lead.Stage.BOOKED, Lead.Stage.WON, Lead.Stage.LOST)
# Reaching these stages ends the lead's sequences: nobody mails a client or a lost lead.
EXIT_REASONS: dict[str, str] = {
    Lead.Stage.BOOKED: Enrollment.ExitReason.BOOKED,
    Lead.Stage.WON: Enrollment.ExitReason.WON,
    Lead.Stage.LOST: Enrollment.ExitReason.LOST,
}
REASON_MAX = 300
NOTE_MAX = 5000


class ActionRefused(Exception):
    """The action cannot be done as asked; `message` says why, `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def take_lead(*, lead_id: int, actor: User) -> Lead:
    """Make `actor` the owner of an unowned lead (a no-op if it already is)."""
    with transaction.atomic():
        lead = _locked(lead_id)
        if lead.owner_id == actor.pk:
            return lead
        if lead.owner_id is not None:
            owner = User.objects.get(pk=lead.owner_id).get_username()
            raise ActionRefused(f"{owner} already owns this lead; reassign it instead.", status=409)
        set_owner_locked(lead=lead, owner=actor, actor=actor, reason="Claimed")
    return lead


def reassign_lead(*, lead_id: int, actor: User, owner_id: int | None, reason: str = "") -> Lead:
    """Give the lead to another active sales rep."""
    reason = _reason(reason)
    owner = (
        User.objects.filter(pk=owner_id, is_active=True, groups__name=SALES_REPS).first()
        if owner_id
        else None
    )
    if owner is None:
        raise ActionRefused("Choose an active sales rep to give the lead to.")
    with transaction.atomic():
        lead = _locked(lead_id)
        if lead.owner_id == owner.pk:
            raise ActionRefused(f"{owner.get_username()} already owns this lead.", status=409)
        set_owner_locked(lead=lead, owner=owner, actor=actor, reason=reason or "Reassigned")
    return lead


def move_stage(*, lead_id: int, actor: User | None, stage: str, reason: str = "") -> Lead:
    """Move the lead to contacted, booked, won or lost (lost needs a reason). No actor: a
    journey moved it (the reason says which).

    Booked, won and lost end the lead's sequences and close its hand-off call task;
    contacted counts as the first contact of the open hot episode.
    """
    if stage not in WORKABLE_STAGES:
        raise ActionRefused("Choose a stage: contacted, booked, won or lost.")
    reason = _reason(reason)
    if stage == Lead.Stage.LOST and not reason:
        raise ActionRefused("Say why the lead was lost.")
    now = timezone.now()
    with transaction.atomic():
        lead = _locked(lead_id)
        if lead.stage == stage:
            raise ActionRefused(
                f"The lead is already {Lead.Stage(stage).label.lower()}.", status=409
            )
        old_stage = lead.stage
        Lead.objects.filter(pk=lead.pk).update(stage=stage, updated_at=now)
        change = LeadChange.objects.create(
            lead=lead,
            actor=actor,
            field=LeadChange.Field.STAGE,
            old_value=old_stage,
            new_value=stage,
            reason=reason,
        )
        if stage in EXIT_REASONS:
            exit_enrollments(lead_id=lead.pk, reason=EXIT_REASONS[stage])
            close_handoff_tasks_locked(lead=lead, change=change)
        elif stage in SALES_STAGES:
            # Contacted is sales' stage: the hand-off journeys end now, as the sender would
            # at their next email, so the lead page says so at once.
            hand_to_sales(lead_id=lead.pk)
        if stage == Lead.Stage.CONTACTED and actor is not None:
            # A journey marking the lead contacted is not a rep's first contact.
            _first_contact(lead_id=lead.pk, at=now)
        lead.stage = stage
        announce_on_commit(
            stage_changed,
            Lead,
            lead_id=lead.pk,
            old=old_stage,
            new=stage,
            actor_id=actor.pk if actor else None,
        )
    return lead


def add_note(
    *,
    lead_id: int,
    author: User,
    body: str,
    kind: str = Note.Kind.NOTE,
    outcome: str = "",
) -> Note:
    """A note, or a logged call with its outcome (a hot episode's first call is its first
    contact)."""
    if kind not in Note.Kind.values:
        raise ActionRefused("A note is either a note or a call.")
    if kind == Note.Kind.CALL and outcome not in Note.Outcome.values:
        outcomes = ", ".join(label.lower() for label in Note.Outcome.labels)
        raise ActionRefused(f"Choose how the call went ({outcomes}).")
    if kind == Note.Kind.NOTE and outcome:
        raise ActionRefused("A note has no call outcome: log it as a call.")
    body = body.strip()
    if not body:
        raise ActionRefused(
            "Write what happened first." if kind == Note.Kind.CALL else "The note is empty."
        )
    if len(body) > NOTE_MAX:
        raise ActionRefused(f"Keep it under {NOTE_MAX} characters ({len(body)} now).")
    with transaction.atomic():
        lead = _locked(lead_id)
        note = Note.objects.create(lead=lead, author=author, kind=kind, outcome=outcome, body=body)
        if kind == Note.Kind.CALL:
            _first_contact(lead_id=lead.pk, at=note.created_at)
            # A call logged on the lead is the hand-off's call, whoever made it: its task is
            # done with the call's outcome (a task completed meanwhile keeps its own).
            Task.objects.filter(
                lead=lead, source=Task.Source.HANDOFF, completed_at__isnull=True
            ).update(completed_at=note.created_at, completed_by=author, outcome=outcome)
    return note


def log_call(*, lead_id: int, author: User, body: str, outcome: str) -> Note:
    return add_note(lead_id=lead_id, author=author, body=body, kind=Note.Kind.CALL, outcome=outcome)


def stop_sequences(*, lead_id: int, actor: User, sequence_id: int | None = None) -> int:
    """Stop mailing the lead: one sequence, or all of them. Returns how many stopped."""
    with transaction.atomic():
        lead = _locked(lead_id)
        active = Enrollment.objects.filter(lead=lead, state__in=LIVE_STATES)
        if sequence_id is not None:
            active = active.filter(sequence_id=sequence_id)
        names = list(active.values_list("sequence__name", flat=True))
        if not names:
            raise ActionRefused("The lead is in no active sequence to stop.", status=409)
        stopped = exit_enrollments(
            lead_id=lead.pk, reason=Enrollment.ExitReason.MANUAL, sequence_id=sequence_id
        )
        LeadChange.objects.create(
            lead=lead,
            actor=actor,
            field=LeadChange.Field.SEQUENCE,
            old_value=", ".join(names)[:150],
            new_value="stopped",
        )
    return stopped


def pause_sequences(
    *, lead_id: int, actor: User, sequence_id: int | None = None, resume: bool = False
) -> int:
    """Hold (or resume) the lead's emails without ending its sequences."""
    with transaction.atomic():
        lead = _locked(lead_id)
        change = resume_enrollments if resume else pause_enrollments
        changed = change(lead_id=lead.pk, sequence_id=sequence_id)
        if not changed:
            state = "paused" if resume else "active"
            raise ActionRefused(f"The lead is in no {state} sequence.", status=409)
        LeadChange.objects.create(
            lead=lead,
            actor=actor,
            field=LeadChange.Field.SEQUENCE,
            old_value="paused" if resume else "active",
            new_value="resumed" if resume else "paused",
        )
    return changed


def _locked(lead_id: int) -> Lead:
    """The lead row, locked until the transaction ends. Raises Lead.DoesNotExist."""
    return Lead.objects.select_for_update().get(pk=lead_id)


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise ActionRefused(f"Keep the reason under {REASON_MAX} characters.")
    return reason


def set_owner_locked(*, lead: Lead, owner: User, actor: User | None, reason: str) -> None:
    """Change the owner of a lead the caller has locked, inside its transaction."""
    now = timezone.now()
    old = User.objects.get(pk=lead.owner_id).get_username() if lead.owner_id else ""
    Lead.objects.filter(pk=lead.pk).update(owner=owner, updated_at=now)
    LeadChange.objects.create(
        lead=lead,
        actor=actor,
        field=LeadChange.Field.OWNER,
        old_value=old,
        new_value=owner.get_username(),
        reason=reason,
    )
    # The open hot episode follows the lead to its new rep until somebody has called, and
    # so does its "call within 5 minutes".
    Handoff.objects.filter(lead=lead, ended_at__isnull=True, first_contact_at__isnull=True).update(
        rep=owner
    )
    Task.objects.filter(lead=lead, source=Task.Source.HANDOFF, completed_at__isnull=True).update(
        owner=owner
    )
    RepProfile.objects.filter(user_id=owner.pk).update(last_assigned_at=now)
    # Now, not when the next drip email is refused at send time: the lead's page must stop
    # showing the journey as running the moment the rep has the lead.
    hand_to_sales(lead_id=lead.pk)
    lead.owner_id = owner.pk


def close_handoff_tasks_locked(*, lead: Lead, change: LeadChange) -> int:
    """The lead was booked, won or lost (`change`, its stage's audit row): its open "call
    within 5 minutes" has nothing left to do and leaves the rep's day and "Calls overdue".

    Closed by the stage (its own outcome), not a call: no call is logged, the hot episode
    keeps no first contact, and the speed to lead figures leave it out. Other tasks (a rep's
    follow-up) stay open. For a lead the caller has locked, inside its transaction; returns
    how many tasks it closed.
    """
    # The same conditional UPDATE as completing a task: one completed meanwhile keeps its own.
    closed = Task.objects.filter(
        lead=lead, source=Task.Source.HANDOFF, completed_at__isnull=True
    ).update(
        completed_at=change.at,
        completed_by_id=change.actor_id,
        outcome=Task.Outcome.CLOSED_BY_STAGE,
    )
    if closed:
        transaction.on_commit(forget_rep_speeds)
    return closed


def _first_contact(*, lead_id: int, at: datetime) -> None:
    contacted = Handoff.objects.filter(
        lead_id=lead_id, ended_at__isnull=True, first_contact_at__isnull=True
    ).update(first_contact_at=at)
    if contacted:
        # The dashboard's speed to lead must show this call at once, not in a minute.
        transaction.on_commit(forget_rep_speeds)
