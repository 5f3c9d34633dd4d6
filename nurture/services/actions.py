"""Running a node's effect outside the tick: text the lead, notify, ask sales for a task or
an update. Claimed once (pending → running), recorded, and the enrollment woken to move on.
"""

import json
import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce
from leadfunnel.outbound import http
from nurture.merge_text import merge_text, slack_escape
from nurture.models import Enrollment, Node, PathStep
from nurture.services import exits
from nurture.services.sms import send_sms
from nurture.signals import journey_action

logger = logging.getLogger(__name__)


def run_effect(*, enrollment_id: int, node_id: int, now: datetime | None = None) -> str:
    """Perform one visit's effect once; the result text (or "not claimed" for a copy of the
    task that found the row taken, or a row a killed worker left `running`)."""
    now = now or timezone.now()
    row = PathStep.objects.filter(enrollment_id=enrollment_id, node_id=node_id)
    if row.filter(effect="pending").update(effect="running", effect_changed_at=now) != 1:
        return "not claimed"
    node = Node.objects.select_related("sequence").get(pk=node_id)
    enrollment = Enrollment.objects.select_related("lead").get(pk=enrollment_id)
    wake_at = now
    if enrollment.state != Enrollment.State.ACTIVE:
        result, state = f"not run: enrollment {enrollment.get_state_display().lower()}", "done"
    else:
        try:
            result, state, hold_until = _perform(node=node, enrollment=enrollment, now=now)
        except Exception as error:  # one failing effect must not stop the lead's journey
            logger.exception("journey effect failed: enrollment %s node %s", enrollment_id, node_id)
            result, state, hold_until = f"failed: {type(error).__name__}", "done", None
        if hold_until is not None:
            wake_at = hold_until
    row.update(effect=state, result=result[:300], effect_changed_at=timezone.now())
    Enrollment.objects.filter(
        pk=enrollment_id, current_node_id=node_id, state=Enrollment.State.ACTIVE
    ).update(next_at=wake_at)
    return result


def _perform(
    *, node: Node, enrollment: Enrollment, now: datetime
) -> tuple[str, str, datetime | None]:
    """(result, effect state, when to wake the lead if not now)."""
    config = node.config or {}
    lead = enrollment.lead
    if node.kind == Node.Kind.SMS:
        # The hand-off rule holds for texts as for email: a lead sales has gets no more
        # marketing, whichever way sales got it (a rep's claim announces nothing to nurture).
        handed_off = exits.handed_to_sales(lead=lead, sequence=node.sequence)
        if handed_off is not None:
            return f"not sent: handed to sales ({handed_off})", "done", None
        body = merge(str(config.get("body", "")), lead)
        outcome = send_sms(lead_id=lead.pk, body=body, now=now)
        if outcome.outcome == "held" and outcome.hold_until is not None:
            # Quiet hours in the lead's zone: back to pending, woken when they end.
            return (
                f"held for quiet hours until {outcome.hold_until:%Y-%m-%d %H:%M} UTC",
                "pending",
                outcome.hold_until,
            )
        if outcome.outcome == "sent" and outcome.message is not None:
            return f"SMS sent to {outcome.message.to_number}", "done", None
        return f"{outcome.outcome}: {outcome.reason}", "done", None
    if node.kind == Node.Kind.NOTIFY:
        return _notify(node=node, enrollment=enrollment), "done", None
    action = "task" if node.kind == Node.Kind.TASK else str(config.get("action", "stage"))
    # Sent now, not on commit: the receivers' replies are what the path records of the
    # effect. Each failure is logged with the lead's id, and the other receivers still run.
    replies = announce(
        journey_action,
        Node,
        action=action,
        lead_id=lead.pk,
        enrollment_id=enrollment.pk,
        node_id=node.pk,
        config=config,
    )
    results = [str(reply) for _, reply in replies if reply and not isinstance(reply, Exception)]
    errors = [reply for _, reply in replies if isinstance(reply, Exception)]
    if errors and not results:
        return f"{action} failed: {errors[0]}", "done", None
    return "; ".join(results) or f"{action}: nobody handled it", "done", None


def _notify(*, node: Node, enrollment: Enrollment) -> str:
    """Email the lead's owner or a team address, or post to a Slack-style webhook."""
    config = node.config or {}
    lead = enrollment.lead
    target = config.get("to", "owner")
    # Read by the team; a webhook's values escaped, so a name cannot ping the channel.
    text = merge(
        str(config.get("message") or f"{{{{ email }}}} reached “{node}” in {node.sequence}."),
        lead,
        for_team=True,
        slack=target == "webhook",
    )
    if target == "webhook":
        # Through the SSRF guard, as outbound webhooks are: the URL is typed into the admin.
        outcome = http.post(
            url=str(config.get("url", "")),
            body=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            timeout=5.0,
        )
        return (
            "posted to the team's channel"
            if outcome.ok
            else f"post failed: {outcome.error or outcome.status_code}"
        )
    if target not in ("owner", "team"):
        return f"refused: unknown recipient “{target}” (owner, team or webhook)"
    address = ""
    if target == "owner" and lead.owner is not None and lead.owner.email:
        address = lead.owner.email
    # The team address: asked for, or the owner's stand-in when the lead has none.
    address = address or str(config.get("address") or "").strip()
    if not address:
        return "nobody to notify (no owner and no team address)"
    # One line: a header cannot carry a newline (and must not, from a merged value).
    subject = merge(str(config.get("subject") or "Lead update: {{ email }}"), lead, for_team=True)
    subject = " ".join(subject.split())
    send_mail(
        subject=subject[:200],
        message=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[address],
    )
    return f"notified {address}"


def merge(text: str, lead: Lead, *, for_team: bool = False, slack: bool = False) -> str:
    """The lead's values put in as plain text (an email's fields, nurture.merge_text);
    `slack` escapes them for a Slack-style webhook's text."""
    return merge_text(text, lead=lead, for_team=for_team, escape=slack_escape if slack else None)
