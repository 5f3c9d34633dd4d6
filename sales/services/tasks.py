"""Tasks for sales reps: made by hand, through the API, by a journey's node or by a hand-off
(sales.services.handoff); completed once, with an outcome.

A task goes to the rep asked for, else the lead's owner, else the round-robin pick the
hand-offs use (who then owns the lead, as after a hand-off, so the lead's next task goes to
the same rep). Completing is one conditional UPDATE on open rows: a double click or two
tabs complete a task once, and the first completion's time and rep stand. A lead booked,
won or lost has its hand-off call closed the same way, as no call
(sales.services.leads.close_handoff_tasks_locked).
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce_on_commit
from sales.models import Note, Task
from sales.selectors.dashboard import forget_rep_speeds
from sales.services.handoff import round_robin_pick
from sales.services.leads import NOTE_MAX as CALL_NOTE_MAX
from sales.services.leads import ActionRefused, add_note, set_owner_locked
from sales.signals import task_created

TITLE_MAX = 200
NOTE_MAX = 2000
SOURCE_REF_MAX = 200
WORK_TASKS = "sales.change_task"
COMPLETE_ANY = "sales.complete_any_task"


def create_task(
    *,
    lead_id: int,
    title: str,
    due_at: datetime,
    note: str = "",
    owner_id: int | None = None,
    source: str = Task.Source.MANUAL,
    source_ref: str = "",
) -> Task:
    """A task on the lead, due at `due_at` (aware), announced as `task_created` on commit.

    Raises ActionRefused (nothing written) for bad input, an owner who cannot work tasks, or
    an unowned lead with nobody to pick; Lead.DoesNotExist for a lead that is not there.
    """
    title = " ".join(title.split())
    note = note.strip()
    if not title:
        raise ActionRefused("Give the task a title.")
    if len(title) > TITLE_MAX:
        raise ActionRefused(f"Keep the title under {TITLE_MAX} characters ({len(title)} now).")
    if len(note) > NOTE_MAX:
        raise ActionRefused(f"Keep the note under {NOTE_MAX} characters ({len(note)} now).")
    if timezone.is_naive(due_at):
        # A naive time would be read in the server's zone, not the rep's: refuse to guess.
        raise ActionRefused("Give the due time with its time zone.")
    if source not in Task.Source.values:
        raise ActionRefused("Unknown task source.")
    if len(source_ref) > SOURCE_REF_MAX:
        raise ActionRefused(f"Keep the source reference under {SOURCE_REF_MAX} characters.")
    owner = _rep(owner_id) if owner_id is not None else None
    if owner_id is not None and owner is None:
        raise ActionRefused("Give the task to an active sales rep.")
    with transaction.atomic():
        # Locked as every lead action locks it: the owner read here cannot change under us.
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if owner is None:
            owner = _lead_owner(lead) or _pick_owner(lead)
        task = Task.objects.create(
            lead=lead,
            owner=owner,
            title=title,
            note=note,
            due_at=due_at,
            source=source,
            source_ref=source_ref,
        )
        announce_on_commit(task_created, Task, task_id=task.pk, lead_id=lead.pk)
    return task


def complete_task(
    *,
    task_id: int,
    actor: User,
    outcome: str = Task.Outcome.DONE,
    note: str = "",
    now: datetime | None = None,
) -> Task:
    """Mark the task done by `actor` (its owner, or a rep allowed to complete anyone's)
    with its outcome. A call's outcome (connected, voicemail…) logs the call on the lead as
    "log a call" does, with `note` as its summary: the hot episode's first contact.

    Completing a done task changes nothing. Raises Task.DoesNotExist, or ActionRefused: 400
    for an unknown outcome or a note too long, 403 for somebody else's task.
    """
    if outcome not in dict(Task.REP_OUTCOMES):
        outcomes = ", ".join(str(label).lower() for _value, label in Task.REP_OUTCOMES)
        raise ActionRefused(f"Choose how it went ({outcomes}).")
    note = note.strip()
    if len(note) > CALL_NOTE_MAX:
        raise ActionRefused(f"Keep the note under {CALL_NOTE_MAX} characters ({len(note)} now).")
    task = Task.objects.select_related("owner").get(pk=task_id)
    if not actor.has_perm(WORK_TASKS):
        raise ActionRefused("You cannot complete tasks.", status=403)
    if task.owner_id != actor.pk and not actor.has_perm(COMPLETE_ANY):
        raise ActionRefused(f"This is {task.owner.get_username()}'s task to complete.", status=403)
    now = now or timezone.now()
    with transaction.atomic():
        # The lead first, as logging a call locks it: the two never wait on each other
        # in opposite orders.
        Lead.objects.select_for_update().filter(pk=task.lead_id).first()
        # The condition is the claim: of two completions racing, one UPDATE changes the row.
        claimed = Task.objects.filter(pk=task.pk, completed_at__isnull=True).update(
            completed_at=now, completed_by=actor, outcome=outcome
        )
        if claimed and task.source == Task.Source.HANDOFF:
            # Its "Calls overdue" on the dashboard goes at once, not when the cache expires.
            transaction.on_commit(forget_rep_speeds)
        if claimed and outcome != Task.Outcome.DONE:
            add_note(
                lead_id=task.lead_id,
                author=actor,
                kind=Note.Kind.CALL,
                outcome=outcome,
                body=note or task.title,
            )
    task.refresh_from_db()
    return task


def _rep(user_id: int) -> User | None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user if user is not None and user.has_perm(WORK_TASKS) else None


def _lead_owner(lead: Lead) -> User | None:
    return _rep(lead.owner_id) if lead.owner_id is not None else None


def _pick_owner(lead: Lead) -> User:
    rep = round_robin_pick(now=timezone.now())
    if rep is None:
        raise ActionRefused(
            "The lead has no owner and no rep takes round-robin leads: choose a rep.",
            status=409,
        )
    set_owner_locked(lead=lead, owner=rep, actor=None, reason="Task: round-robin")
    return rep
