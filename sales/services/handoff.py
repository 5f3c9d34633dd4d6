"""Handing a lead to a rep the moment it turns hot, once per hot episode.

A Handoff row is one hot episode; the database allows one open episode per lead, so a storm
of rescorings (or two workers announcing the same change) tells the rep once. The rep is
the lead's owner, else the active rep least recently given a lead; round-robin picks are
serialised on the SalesSettings row so two leads turning hot at once go to two reps. The rep
gets a task, "call within 5 minutes", on the episode (one per episode: a partial unique index).
Email and webhook go out after commit, outside the transaction; their failures are logged.
"""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce_on_commit
from leadfunnel.groups import SALES_REPS
from leadfunnel.mail import OutgoingEmail
from leadfunnel.outbound import http
from nurture.merge_text import slack_escape
from sales import queueing
from sales.models import Handoff, RepProfile, SalesSettings, Task
from sales.selectors.dashboard import forget_rep_speeds
from sales.services.contact import mailbox
from sales.services.leads import set_owner_locked
from sales.signals import task_created

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 3
# Speed to lead: a call in the first five minutes is the rule of thumb sales teams work to.
HANDOFF_CALL_MINUTES = 5


def on_temperature_changed(*, lead_id: int, old: str, new: str) -> None:
    """What scoring's `temperature_changed` sets off here. Runs in scoring's on-commit
    callback, so it never raises: a failed hand-off is logged, the rescoring stands."""
    try:
        if new == Lead.Temperature.HOT:
            open_handoff(lead_id=lead_id)
        elif old == Lead.Temperature.HOT:
            end_handoff(lead_id=lead_id)
    except Lead.DoesNotExist:
        pass  # deleted meanwhile
    except Exception:
        logger.exception("Hand-off of lead %s (%s → %s) failed", lead_id, old, new)


def open_handoff(*, lead_id: int, now: datetime | None = None) -> Handoff | None:
    """Open the lead's hot episode, assign it and tell the rep on commit.

    None when the lead is not hot any more (a stale announcement) or its episode is open
    already (its rep was told).
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.temperature != Lead.Temperature.HOT:
            return None
        try:
            with transaction.atomic():
                handoff = Handoff.objects.create(lead=lead, turned_hot_at=now)
        except IntegrityError:
            return None  # handoff_one_open: this episode was handed off already
        rep = _assignee(lead=lead, now=now)
        if rep is not None:
            handoff.rep = rep
            handoff.save(update_fields=["rep"])
            if lead.owner_id != rep.pk:
                set_owner_locked(lead=lead, owner=rep, actor=None, reason="Turned hot: round-robin")
            _call_task(handoff=handoff, lead=lead, rep=rep, now=now)
        transaction.on_commit(lambda: _notify_later(handoff_id=handoff.pk))
        # A new hot episode and its call task count in the dashboard's speed to lead now.
        transaction.on_commit(forget_rep_speeds)
    return handoff


def _call_task(*, handoff: Handoff, lead: Lead, rep: User, now: datetime) -> Task:
    """The rep's "call within 5 minutes", due then: the lead is warmest right after it turns
    hot. Written here rather than through sales.services.tasks.create_task, which picks
    owners through this module; the lead is locked already."""
    task = Task.objects.create(
        lead=lead,
        owner=rep,
        title=f"Call within {HANDOFF_CALL_MINUTES} minutes: turned hot",
        note=f"Turned hot with a score of {lead.score}.",
        due_at=now + timedelta(minutes=HANDOFF_CALL_MINUTES),
        source=Task.Source.HANDOFF,
        handoff=handoff,
    )
    announce_on_commit(task_created, Task, task_id=task.pk, lead_id=lead.pk)
    return task


def _notify_later(*, handoff_id: int) -> None:
    """Email and webhook from a worker: a slow mail server must not hold up whichever
    request turned the lead hot (often a prospect's form). Broker down: notify here."""
    try:
        queueing.notify_handoff_soon(handoff_id=handoff_id)
    except Exception:  # kombu and redis raise many kinds when the broker is down
        logger.warning("broker unreachable; notifying hand-off %s inline", handoff_id)
        notify_handoff(handoff_id=handoff_id)


def end_handoff(*, lead_id: int, now: datetime | None = None) -> int:
    """The lead cooled down: its hot episode ends (the next one will notify again)."""
    if Lead.objects.filter(pk=lead_id, temperature=Lead.Temperature.HOT).exists():
        return 0  # hot again since: the episode goes on
    return Handoff.objects.filter(lead_id=lead_id, ended_at__isnull=True).update(
        ended_at=now or timezone.now()
    )


def _assignee(*, lead: Lead, now: datetime) -> User | None:
    if lead.owner_id is not None:
        owner = User.objects.filter(pk=lead.owner_id, is_active=True).first()
        if owner is not None:
            RepProfile.objects.filter(user=owner).update(last_assigned_at=now)
            return owner
    return round_robin_pick(now=now)


def round_robin_pick(*, now: datetime) -> User | None:
    """The active rep least recently given a lead (None with round-robin off or no rep),
    marked as given one now. Call it inside the caller's transaction: the lock holds until
    it commits."""
    SalesSettings.objects.get_or_create(pk=1)
    # The lock makes picks one at a time: the next pick reads this one's last_assigned_at.
    sales_settings = SalesSettings.objects.select_for_update().get(pk=1)
    if not sales_settings.round_robin:
        return None
    profile = (
        RepProfile.objects.filter(
            takes_leads=True, user__is_active=True, user__groups__name=SALES_REPS
        )
        .select_related("user")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "pk")
        .first()
    )
    if profile is None:
        return None
    RepProfile.objects.filter(pk=profile.pk).update(last_assigned_at=now)
    return profile.user


def notify_handoff(*, handoff_id: int) -> None:
    """Email the rep and post to the webhook; marks the episode notified if either worked."""
    handoff = Handoff.objects.select_related("lead__campaign", "rep").filter(pk=handoff_id).first()
    if handoff is None:
        return
    lead = handoff.lead
    context = {
        "lead": lead,
        "rep": handoff.rep,
        "handoff": handoff,
        "url": settings.SITE_URL + reverse("sales:lead", args=[lead.pk]),
        "name": lead.full_name or lead.email,
    }
    told = False
    if handoff.rep is not None and handoff.rep.email:
        told = _email_rep(context=context, to=handoff.rep.email, lead=lead) or told
    webhook_url = SalesSettings.objects.filter(pk=1).values_list("webhook_url", flat=True).first()
    if webhook_url:
        # Through the SSRF guard, as outbound webhooks are: the URL is typed into the admin.
        outcome = http.post(
            url=webhook_url,
            body=json.dumps({"text": _webhook_text(context)}).encode(),
            headers={"Content-Type": "application/json"},
            timeout=WEBHOOK_TIMEOUT_SECONDS,
        )
        if outcome.ok:
            told = True
        else:
            logger.error("Hand-off %s: the webhook POST failed: %s", handoff.pk, outcome.error)
    if told:
        Handoff.objects.filter(pk=handoff.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )


def _email_rep(*, context: dict[str, Any], to: str, lead: Lead) -> bool:
    subject = " ".join(render_to_string("sales/email/handoff_subject.txt", context).split())
    message = OutgoingEmail(
        subject=subject,
        body=render_to_string("sales/email/handoff.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # The rep's first move is often a reply: it should reach the lead, not our sender.
        reply_to=[mailbox(name=lead.full_name, address=lead.email)],
    )
    message.attach_alternative(render_to_string("sales/email/handoff.html", context), "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("Hand-off: could not email %s", to)
        return False
    return True


def _webhook_text(context: dict[str, Any]) -> str:
    lead: Lead = context["lead"]
    # The name and company are the prospect's typing: escaped, they cannot ping the channel
    # (<!channel>) or dress a link of their own as ours.
    who = context["name"] + (f" ({lead.company})" if lead.company else "")
    rep = context["rep"].get_username() if context["rep"] else "nobody yet"
    return (
        f"Hot lead: {slack_escape(who)}, score {lead.score}. Assigned to {slack_escape(rep)}. "
        f"{context['url']}"
    )
