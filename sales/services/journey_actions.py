"""What a journey's node asks of sales: a task for a rep, a stage, a lead field, a note.

Nurture announces `journey_action` from its effect task (once per visit: the task claimed
the path row first); the receiver calls `perform_journey_action`, whose answer is the short
text the lead's path shows. Bad configuration is answered with "refused: …" and nothing
written; it never raises, so one bad node cannot stop the lead's journey.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from capture.models import Lead
from leadfunnel.zones import zone_or
from nurture.merge_text import merge_text
from nurture.models import Node
from nurture.services.timing import BUSINESS_DAYS, add_delay
from sales.models import RepProfile, Task
from sales.services.contact import update_contact
from sales.services.handoff import round_robin_pick
from sales.services.leads import ActionRefused, add_note, move_stage
from sales.services.tasks import create_task
from scoring.models import ScoreChange
from scoring.services import score_lead

logger = logging.getLogger(__name__)

# The lead fields a journey may set: who the lead is, never its identity (email), its
# consent, owner, score or stage (those have their own actions).
SAFE_FIELDS: dict[str, int] = {
    name: cast(int, cast(models.CharField[str, str], Lead._meta.get_field(name)).max_length)
    for name in ("company", "job_title", "industry", "company_size")
}
ANSWER = "answer"
ANSWER_MAX = 500
# Notes need an author: journeys write as this inactive user, who cannot log in.
JOURNEY_AUTHOR = "leadfunnel-journeys"
MAX_DUE_HOURS = 24 * 90
MAX_DUE_BUSINESS_DAYS = 60


def perform_journey_action(
    *,
    action: str,
    lead_id: int,
    enrollment_id: int,
    node_id: int,
    config: Mapping[str, Any],
    now: datetime | None = None,
) -> str:
    """Do what the node asks; the result text for the lead's path."""
    now = now or timezone.now()
    try:
        if action == "task":
            return create_journey_task(
                lead_id=lead_id,
                enrollment_id=enrollment_id,
                node_id=node_id,
                config=config,
                now=now,
            )
        if action == "stage":
            return set_stage(lead_id=lead_id, node_id=node_id, stage=str(config.get("stage", "")))
        if action == "field":
            return set_field(
                lead_id=lead_id,
                field=str(config.get("field", "")),
                key=str(config.get("key", "")),
                value=config.get("value", ""),
            )
        if action == "note":
            # "text" from the API, "note" from the map's form: both name the note's words.
            text = str(config.get("text") or config.get("note") or "")
            return add_journey_note(lead_id=lead_id, text=text)
    except ActionRefused as refusal:
        return f"refused: {refusal.message}"
    except Lead.DoesNotExist:
        return "refused: the lead is gone"
    return f"refused: unknown update “{action}” (stage, field or note)"


def create_journey_task(
    *,
    lead_id: int,
    enrollment_id: int,
    node_id: int,
    config: Mapping[str, Any],
    now: datetime,
) -> str:
    """A task for the lead's owner (or the round-robin pick), once per journey visit."""
    source_ref = f"journey:{enrollment_id}:{node_id}"
    lead = Lead.objects.select_related("owner").get(pk=lead_id)
    title = _merge(str(config.get("title") or "Follow up"), lead)
    note = _merge(str(config.get("note") or ""), lead)
    assign = str(config.get("owner") or "owner")
    if assign not in ("owner", "round_robin"):
        raise ActionRefused(f"Unknown assignee “{assign}” (owner or round_robin).")
    with transaction.atomic():
        # The lead's row lock serialises two runs for one visit: the second finds the
        # first's task (Task has no unique source_ref, so the lock is what makes it once).
        Lead.objects.select_for_update().get(pk=lead_id)
        task = (
            Task.objects.filter(lead_id=lead_id, source=Task.Source.JOURNEY, source_ref=source_ref)
            .select_related("owner")
            .first()
        )
        if task is None:
            owner_id = None
            if assign == "round_robin":
                rep = round_robin_pick(now=now)
                if rep is None:
                    raise ActionRefused("no rep takes round-robin leads")
                owner_id = rep.pk
            task = create_task(
                lead_id=lead_id,
                title=title,
                note=note,
                due_at=_due_at(config=config, lead=lead, now=now),
                owner_id=owner_id,
                source=Task.Source.JOURNEY,
                source_ref=source_ref,
            )
    return (
        f"task “{task.title}” for {task.owner.get_username()} due {task.due_at:%a %d %b %H:%M} UTC"
    )


def set_stage(*, lead_id: int, node_id: int, stage: str) -> str:
    journey = Node.objects.filter(pk=node_id).values_list("sequence__name", flat=True).first()
    move_stage(lead_id=lead_id, actor=None, stage=stage, reason=f"Journey: {journey or '?'}"[:300])
    return f"stage → {Lead.Stage(stage).label.lower()}"


def set_field(*, lead_id: int, field: str, key: str = "", value: Any = "") -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ActionRefused("Give the field a text value.")
    value = " ".join(str(value).split())
    if field == ANSWER:
        return _set_answer(lead_id=lead_id, question=key.strip(), value=value)
    if field not in SAFE_FIELDS:
        names = ", ".join([*SAFE_FIELDS, ANSWER])
        raise ActionRefused(f"A journey cannot set “{field}” (only {names}).")
    if len(value) > SAFE_FIELDS[field]:
        raise ActionRefused(f"Keep {field} under {SAFE_FIELDS[field]} characters.")
    if field == "company_size" and value and value not in Lead.CompanySize.values:
        sizes = ", ".join(Lead.CompanySize.values)
        raise ActionRefused(f"Company size is one of {sizes}.")
    update_contact(lead_id=lead_id, details={field: value})
    return f"{field} → “{value}”"


def add_journey_note(*, lead_id: int, text: str) -> str:
    lead = Lead.objects.get(pk=lead_id)
    note = add_note(lead_id=lead_id, author=_journey_author(), body=_merge(text, lead))
    excerpt = note.body if len(note.body) <= 80 else note.body[:79] + "…"
    return f"note added: “{excerpt}”"


def _set_answer(*, lead_id: int, question: str, value: str) -> str:
    if not question:
        raise ActionRefused("Say which question's answer to set.")
    if len(question) > ANSWER_MAX or len(value) > ANSWER_MAX:
        raise ActionRefused(f"Keep the question and answer under {ANSWER_MAX} characters.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.answers.get(question) != value:
            lead.answers = {**lead.answers, question: value}
            lead.save(update_fields=["answers", "updated_at"])
            # Qualifying answers can score: rescored as an edit of the contact is.
            transaction.on_commit(lambda: _rescore(lead_id=lead_id))
    return f"answer to “{question}” → “{value}”"


def _due_at(*, config: Mapping[str, Any], lead: Lead, now: datetime) -> datetime:
    hours, days = config.get("due_hours"), config.get("due_business_days")
    if days not in (None, ""):
        amount = _whole(days, "due_business_days", MAX_DUE_BUSINESS_DAYS)
        return add_delay(start=now, amount=amount, unit=BUSINESS_DAYS, zone=_zone(lead))
    amount = _whole(hours or 0, "due_hours", MAX_DUE_HOURS)
    return now + timedelta(hours=amount)


def _whole(value: Any, name: str, limit: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ActionRefused(f"{name} must be a whole number.") from None
    if not 0 <= number <= limit or isinstance(value, bool) or number != float(value):
        raise ActionRefused(f"{name} must be a whole number from 0 to {limit}.")
    return number


def _zone(lead: Lead) -> ZoneInfo:
    """Business days are the rep's: the owner's zone, else the lead's, else UTC."""
    names = [
        RepProfile.objects.filter(user_id=lead.owner_id).values_list("time_zone", flat=True).first()
        if lead.owner_id
        else None,
        lead.time_zone,
    ]
    return zone_or(*names)


def _merge(text: str, lead: Lead) -> str:
    # Plain text, never a template: a marketer's text cannot reach other data. Read by reps.
    return merge_text(text, lead=lead, for_team=True)


def _journey_author() -> User:
    user, _created = User.objects.get_or_create(
        username=JOURNEY_AUTHOR,
        defaults={"first_name": "Journey", "is_active": False, "password": "!"},
    )
    return user


def _rescore(*, lead_id: int) -> None:
    try:
        score_lead(lead_id=lead_id, cause=ScoreChange.Cause.CAPTURE)
    except Exception:
        logger.exception("Rescoring lead %s failed; the nightly run will catch up", lead_id)
