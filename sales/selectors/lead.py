"""One lead as a rep sees it: contact, why it scores so, what it did, where its sequences are.

The whole page is a fixed handful of reads (one per kind of event), however long the lead's
history: each source is read newest first up to the timeline's length, then merged.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404

from capture.models import Activity, Lead, Submission
from leadfunnel.groups import CLAIM_LEAD
from nurture.merge_text import merge_text
from nurture.models import Delivery, Enrollment, SmsMessage, Step
from nurture.services.scheduling import lead_zone
from sales.models import Booking, LeadChange, Note, Task
from sales.selectors.describe import (
    campaign_label,
    describe_activity,
    short_url,
    step_label,
    url_campaign_label,
)
from scoring.models import ScoreChange

TIMELINE_LENGTH = 200
# Working a lead's pipeline (its stage, its owner) is a sales rep's job. Marketers hold
# capture.change_lead too (for the admin), so that alone cannot be what lets someone move a
# lead; claim_lead is the Sales reps group's alone (leadfunnel.groups). The board, the lead
# page and the API ask for the same pair.
WORK_PIPELINE = ("capture.change_lead", CLAIM_LEAD)
_STAGES = dict(Lead.Stage.choices)
_TEMPERATURES = dict(Lead.Temperature.choices)
_PENDING = (Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING)
# Shown through their own richer rows (the submission, the booking) instead.
_COVERED_ACTIVITIES = (Activity.Kind.FORM_SUBMITTED, Activity.Kind.BOOKING_MADE)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    # submission, activity, email, sms, score, stage, owner, sequence, note, call, booking
    kind: str
    title: str
    detail: str = ""
    actor: str = ""
    moment: datetime | None = None  # a time the entry is about (a booked slot)


@dataclass(frozen=True)
class SequencePosition:
    enrollment: Enrollment
    summary: str

    @property
    def active(self) -> bool:
        return self.enrollment.state in (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)

    @property
    def paused(self) -> bool:
        return self.enrollment.state == Enrollment.State.PAUSED


@dataclass(frozen=True)
class Workspace:
    lead: Lead
    timeline: list[TimelineEntry]
    score_history: list[ScoreChange]  # oldest first
    reasons: list[dict[str, Any]]
    sequences: list[SequencePosition]

    @property
    def chart_points(self) -> list[dict[str, Any]]:
        return [{"at": c.at.isoformat(), "score": c.new_score} for c in self.score_history]


def lead_get_for_user(*, user: User | AnonymousUser, lead_id: int) -> Lead:
    """The one way views reach a lead: every sales rep and marketer sees every lead."""
    if not user.has_perm("capture.view_lead"):
        raise PermissionDenied
    lead = Lead.objects.select_related("owner", "campaign").filter(pk=lead_id).first()
    if lead is None:
        raise Http404("No such lead")
    return lead


def upcoming_bookings(*, lead_id: int, now: datetime) -> list[Booking]:
    """The lead's booked consultations still to come, soonest first, with their rep."""
    return list(
        Booking.objects.filter(lead_id=lead_id, status=Booking.Status.BOOKED, starts_at__gte=now)
        .select_related("rep__user")
        .order_by("starts_at")
    )


def lead_workspace(*, lead: Lead, length: int = TIMELINE_LENGTH) -> Workspace:
    submissions = list(Submission.objects.filter(lead=lead).select_related("landing_page")[:length])
    activities = list(
        Activity.objects.filter(lead=lead)
        .exclude(kind__in=_COVERED_ACTIVITIES)
        # Not exclude(metadata__event=…): for metadata without the key that comparison is
        # NULL, and NOT (… AND NULL) drops every other custom event (the API's, an import's).
        .exclude(
            kind=Activity.Kind.CUSTOM,
            metadata__has_key="event",
            metadata__event="booking_cancelled",
        )
        .order_by("-occurred_at", "-id")[:length]
    )
    deliveries = list(
        Delivery.objects.filter(enrollment__lead=lead).select_related("step__node", "enrollment")
    )
    enrollments = list(Enrollment.objects.filter(lead=lead).select_related("sequence"))
    score_changes = list(ScoreChange.objects.filter(lead=lead).order_by("-at", "-id")[:length])
    changes = list(LeadChange.objects.filter(lead=lead).select_related("actor")[:length])
    notes = list(Note.objects.filter(lead=lead).select_related("author")[:length])
    bookings = list(
        Booking.objects.filter(lead=lead)
        .select_related("rep__user")
        .order_by("-created_at")[:length]
    )
    texts = list(SmsMessage.objects.filter(lead=lead).order_by("-created_at", "-id")[:length])
    done_tasks = list(
        Task.objects.filter(lead=lead, completed_at__isnull=False)
        .select_related("completed_by")
        .order_by("-completed_at", "-id")[:length]
    )
    by_id = {delivery.pk: delivery for delivery in deliveries}
    entries = [
        *(_submission_entry(s) for s in submissions),
        *(_activity_entry(a, lead=lead, deliveries=by_id) for a in activities),
        *(_delivery_entry(d, lead=lead) for d in deliveries if d.sent_at is not None),
        *(_sms_entry(m) for m in texts),
        *(_score_entry(c) for c in score_changes),
        *(_change_entry(c) for c in changes),
        *(_note_entry(n) for n in notes),
        *(_task_entry(t) for t in done_tasks),
        *(entry for b in bookings for entry in _booking_entries(b)),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return Workspace(
        lead=lead,
        timeline=entries[:length],
        score_history=score_changes[::-1],
        reasons=list(score_changes[0].reasons) if score_changes else [],
        sequences=[
            _position(enrollment, lead=lead, deliveries=deliveries) for enrollment in enrollments
        ],
    )


def _submission_entry(submission: Submission) -> TimelineEntry:
    detail = campaign_label(
        source=submission.utm_source,
        medium=submission.utm_medium,
        campaign=submission.utm_campaign,
    )
    if not detail and submission.referrer:
        detail = f"from {short_url(submission.referrer, with_host=True)}"
    return TimelineEntry(
        at=submission.created_at,
        kind="submission",
        title=f"Submitted the form on “{submission.landing_page.title}”",
        detail=detail,
    )


def _activity_entry(
    activity: Activity, *, lead: Lead, deliveries: dict[int, Delivery]
) -> TimelineEntry:
    metadata = activity.metadata if isinstance(activity.metadata, dict) else {}
    detail = ""
    if activity.kind == Activity.Kind.EMAIL_CLICKED and metadata.get("link"):
        detail = f"to {short_url(str(metadata['link']), limit=100, with_host=True)}"
    elif activity.kind == Activity.Kind.PAGE_VIEWED and metadata.get("url"):
        # Where the visit came from, in words: its UTM tags, else the referring site.
        detail = url_campaign_label(str(metadata["url"]))
        referrer = str(metadata.get("referrer") or "")
        if not detail and referrer.startswith(("http://", "https://")):
            detail = f"from {short_url(referrer, with_host=True)}"
    text = describe_activity(activity, lead=lead, deliveries=deliveries)
    return TimelineEntry(
        at=activity.occurred_at, kind="activity", title=text[:1].upper() + text[1:], detail=detail
    )


def _delivery_entry(delivery: Delivery, *, lead: Lead) -> TimelineEntry:
    return TimelineEntry(
        at=delivery.sent_at or delivery.due_at,
        kind="email",
        title=f"Sent {step_label(delivery.step, lead=lead)}",
    )


def _sms_entry(message: SmsMessage) -> TimelineEntry:
    if message.status == SmsMessage.Status.REFUSED:
        title = f"Text not sent: {message.get_refusal_display().lower()}"
    else:
        title = f"Texted {message.to_number} ({message.get_status_display().lower()})"
    return TimelineEntry(
        at=message.sent_at or message.created_at, kind="sms", title=title, detail=message.body
    )


def _score_entry(change: ScoreChange) -> TimelineEntry:
    title = f"Score {change.old_score} → {change.new_score}"
    if change.temperature_changed:
        title += (
            f" · {_TEMPERATURES.get(change.old_temperature, change.old_temperature)} → "
            f"{_TEMPERATURES.get(change.new_temperature, change.new_temperature)}"
        )
    reasons = "; ".join(str(r.get("text", "")) for r in change.reasons if isinstance(r, dict))
    return TimelineEntry(
        at=change.at, kind="score", title=title, detail=reasons or change.get_cause_display()
    )


def _change_entry(change: LeadChange) -> TimelineEntry:
    actor = change.actor.get_username() if change.actor else "leadfunnel"
    if change.field == LeadChange.Field.STAGE:
        old = _STAGES.get(change.old_value, change.old_value)
        title = f"Stage {old} → {_STAGES.get(change.new_value, change.new_value)}"
    elif change.field == LeadChange.Field.OWNER:
        title = f"Owner {change.old_value or 'nobody'} → {change.new_value or 'nobody'}"
    else:
        title = f"Stopped the sequence {change.old_value}"
    return TimelineEntry(
        at=change.at, kind=change.field, title=title, detail=change.reason, actor=actor
    )


def _note_entry(note: Note) -> TimelineEntry:
    call = note.kind == Note.Kind.CALL
    return TimelineEntry(
        at=note.created_at,
        kind=note.kind,
        title=(f"Call: {note.get_outcome_display()}" if note.outcome else "Call logged")
        if call
        else "Note",
        detail=note.body,
        actor=note.author.get_username(),
    )


def _task_entry(task: Task) -> TimelineEntry:
    """A completed task: done by a rep (with the call's outcome, if it was one), or closed
    because the lead was booked, won or lost."""
    if task.outcome == Task.Outcome.CLOSED_BY_STAGE:
        title, detail = f"Task closed: {task.title}", "The lead was booked, won or lost."
    else:
        title = f"Task done: {task.title}"
        detail = "" if task.outcome in ("", Task.Outcome.DONE) else task.get_outcome_display()
    return TimelineEntry(
        at=task.completed_at or task.due_at,  # completed_at: the query keeps completed ones
        kind="task",
        title=title,
        detail=detail,
        actor=task.completed_by.get_username() if task.completed_by else "",
    )


def _booking_entries(booking: Booking) -> list[TimelineEntry]:
    rep = booking.rep.user.get_full_name() or booking.rep.user.get_username()
    entries = [
        TimelineEntry(
            at=booking.created_at,
            kind="booking",
            title="Booked a consultation",
            detail=f"with {rep}",
            moment=booking.starts_at,
        )
    ]
    if booking.cancelled_at is not None:
        entries.append(
            TimelineEntry(
                at=booking.cancelled_at,
                kind="booking",
                title="Cancelled the consultation",
                detail=f"with {rep}",
                moment=booking.starts_at,
            )
        )
    return entries


def _email_name(step: Step, *, lead: Lead) -> str:
    """A day list's email by its day; a journey's (no day) by its subject as the lead saw it."""
    return f"Day {step.day}" if step.day is not None else f"“{merge_text(step.subject, lead=lead)}”"


def _position(
    enrollment: Enrollment, *, lead: Lead, deliveries: list[Delivery]
) -> SequencePosition:
    own = [d for d in deliveries if d.enrollment_id == enrollment.pk]
    sent = [d for d in own if d.status == Delivery.Status.SENT]
    pending = [d for d in own if d.status in _PENDING]
    parts = []
    if sent:
        last = max(sent, key=lambda d: (d.step.day or 0, d.sent_at or d.due_at))
        parts.append(f"{_email_name(last.step, lead=lead)} sent")
    else:
        parts.append("nothing sent yet")
    if enrollment.state == Enrollment.State.PAUSED:
        parts.append("paused: nothing goes out until resumed")
    elif enrollment.state == Enrollment.State.ACTIVE:
        if pending:
            upcoming = min(pending, key=lambda d: d.due_at)
            zone = lead_zone(lead=lead, sequence=enrollment.sequence)
            local = upcoming.due_at.astimezone(zone)
            name = _email_name(upcoming.step, lead=lead)
            parts.append(
                f"{name} due {local:%a} {local.day} {local:%b %H:%M} "
                f"in their time zone ({zone.key})"
            )
        else:
            parts.append("nothing left to send")
    elif enrollment.state == Enrollment.State.EXITED:
        parts.append(f"stopped: {enrollment.get_exit_reason_display() or 'exited'}")
    else:
        parts.append("finished")
    summary = ", ".join(parts)
    return SequencePosition(enrollment=enrollment, summary=summary[:1].upper() + summary[1:])
