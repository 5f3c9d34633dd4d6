"""Sending one delivery: claim it, re-check that it should still go, render, send, record."""

import logging
import smtplib
import socket
import threading
from collections.abc import Iterable
from collections.abc import Sequence as Ids
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from capture.models import Lead
from leadfunnel.outbound.backoff import backoff_seconds
from nurture import topic_selectors as topics
from nurture.models import Delivery, Enrollment, Step, Suppression
from nurture.services import esp_batch, exits
from nurture.services.composing import build_message
from nurture.services.engagement import suppress
from nurture.services.exiting import exit_enrollments
from nurture.services.mime import send_over_smtp

logger = logging.getLogger(__name__)
# Send-time checks that end the lead's enrollments (the rest of a batch is cancelled then).
EXITS = frozenset({"suppressed", "exited", "handed to sales"})
_STAGE_EXITS: dict[str, str] = {
    Lead.Stage.BOOKED: Enrollment.ExitReason.BOOKED,
    Lead.Stage.WON: Enrollment.ExitReason.WON,
    Lead.Stage.LOST: Enrollment.ExitReason.LOST,
}
# One message (or one ESP call) in flight per worker process, whatever the pool. Held from
# handing a message over until it is recorded `sent`: a SIGKILLed process can resend only
# what is inside. The sending worker runs the threads pool (one process, two threads:
# docker-compose.yml's `sender`), whose threads would otherwise each hold one, so a kill
# would resend two. The other thread still claims, loads and renders meanwhile; only the
# waits on the mail server and the one UPDATE are taken in turn. Re-entrant: a failure
# recorded inside announces on commit, and an eager task run from that (tests) may send.
_IN_FLIGHT = threading.RLock()


@dataclass(frozen=True)
class SendFailure:
    temporary: bool
    reason: str
    bounced: bool = False


def send_delivery(*, delivery_id: int) -> str:
    """Send one delivery if it is still due to go; returns what happened, for logs and tests."""
    outcomes = send_batch(delivery_ids=[delivery_id])
    return next(iter(outcomes.values()), "not claimed")


def send_batch(*, delivery_ids: Ids[int]) -> dict[int, str]:
    """Send a batch of deliveries over one connection; returns what happened to each.

    The whole batch is claimed in one conditional UPDATE … RETURNING (queued → sending): a
    second copy of the task finds nothing to claim. It is loaded in one query and the
    suppression list read once; each message is then sent and recorded `sent` before the
    next goes, so a worker killed mid-batch resends at most the one in flight (its row is
    still `sending`, reclaimed after the lease), one a process across its threads
    (`_IN_FLIGHT`). The SMTP or ESP calls happen outside any
    transaction; a connection that drops mid-batch is opened again for the next message.
    """
    now = timezone.now()
    claimed = _claim(delivery_ids=delivery_ids, now=now)
    if not claimed:
        return {}
    deliveries = list(
        Delivery.objects.select_related(
            "enrollment__lead__owner", "enrollment__sequence", "step", "node"
        )
        .filter(pk__in=claimed)
        .order_by("pk")
    )
    emails = {delivery.enrollment.lead.email for delivery in deliveries}
    suppressed = set(Suppression.objects.filter(email__in=emails).values_list("email", flat=True))
    # The batch's (lead, topic) pairs a lead left (or never opted in to): two queries, once.
    topic_holds = topics.batch_topic_holds(deliveries=deliveries)
    outcomes: dict[int, str] = {}
    done: list[Delivery] = []
    mail = None
    # With an ESP that sends in batches, the messages are collected and go one API call a
    # step after the checks (esp_batch); otherwise each goes over the connection in turn.
    esp: BaseEmailBackend | None = mailers.default
    if not esp_batch.is_batch_esp(esp):
        esp = None
    for_esp: list[Delivery] = []
    ready: list[tuple[Delivery, EmailMultiAlternatives]] = []
    unreachable: SendFailure | None = None
    exited: dict[int, tuple[str, str]] = {}
    _commit_without_flush(True)
    try:
        for delivery in deliveries:
            if exited and _ended_in_batch(delivery, exited):
                # An exit earlier in this batch cancels the rest, as it cancels queued rows.
                _finish(delivery, Delivery.Status.CANCELLED, "")
                outcomes[delivery.pk] = "cancelled"
                continue
            hold = _hold_for(delivery, suppressed=suppressed)
            topic_left = None if hold else topics.topic_hold_reason(delivery, blocked=topic_holds)
            if topic_left is not None:  # skipped, as a step whose condition is not met
                hold = Hold(
                    "unsubscribed from topic", Delivery.Status.SKIPPED, topic_left, complete=True
                )
            held = _hold(delivery, hold) if hold is not None else None
            if held is not None:
                outcomes[delivery.pk] = held
                if held in EXITS:
                    exited = _states(deliveries)
                continue
            if esp is not None:
                for_esp.append(delivery)
                continue
            ready.append((delivery, build_message(delivery=delivery)))
        # Rendered before any goes: the other thread renders its batch while this one
        # waits on the mail server, instead of between this one's sends.
        for delivery, message in ready:
            if unreachable is not None:
                # The server refused the connection: the rest wait for a retry, not a timeout each.
                outcomes[delivery.pk] = _record_failure(
                    delivery=delivery, failure=unreachable, now=now
                )
                continue
            with _IN_FLIGHT:
                try:
                    if mail is None:
                        opening = mailers.default  # a new backend instance: one connection
                        opening.open()
                        mail = opening
                    if isinstance(mail, SmtpBackend):
                        send_over_smtp(mail, message)  # the bytes written directly: mime.py
                    else:
                        mail.send_messages([message])
                except Exception as error:
                    failure = classify_failure(error)
                    outcomes[delivery.pk] = _record_failure(
                        delivery=delivery, failure=failure, now=now
                    )
                    if mail is None:
                        unreachable = SendFailure(
                            temporary=True, reason=f"not sent: {failure.reason}"
                        )
                    elif _connection_lost(error):
                        _close_quietly(mail)
                        mail = None
                    continue
                status = getattr(message, "anymail_status", None)
                esp_id = getattr(status, "message_id", None) if status is not None else None
                # An ESP's own id is what its webhooks quote back; SMTP has only our Message-ID.
                message_id = (
                    esp_id if isinstance(esp_id, str) else message.extra_headers["Message-ID"]
                )
                _mark_sent(delivery=delivery, message_id=message_id)
            outcomes[delivery.pk] = "sent"
            done.append(delivery)
        if for_esp:
            _send_through_esp(esp, for_esp, exited=exited, outcomes=outcomes, done=done, now=now)
    finally:
        _commit_without_flush(False)
        if mail is not None:
            _close_quietly(mail)
        # Set-based follow-ups for what went: enrollments whose last email this was are
        # complete, and journeys waiting on an email move on.
        _after_sent(done)
    return outcomes


def _send_through_esp(
    esp: Any,
    deliveries: list[Delivery],
    *,
    exited: dict[int, tuple[str, str]],
    outcomes: dict[int, str],
    done: list[Delivery],
    now: datetime,
) -> None:
    """One API call per step and chunk; the rows of a call are recorded together the
    moment it returns, before the next call goes.

    A batch call is all or nothing to us: the ESP takes its messages together and its
    answer is the only news of them. So a worker killed while a call is open resends at
    most that call's messages (at most MAILJET_MESSAGES_PER_CALL, once): the calls before
    it are recorded `sent`, the rows after it were never handed over, and with one call in
    flight a process (`_IN_FLIGHT`) the other thread's call waits rather than joins it.
    """
    if exited:
        # An exit found by the checks after a row was collected still cancels it.
        for delivery in [d for d in deliveries if _ended_in_batch(d, exited)]:
            _finish(delivery, Delivery.Status.CANCELLED, "")
            outcomes[delivery.pk] = "cancelled"
        deliveries = [d for d in deliveries if outcomes.get(d.pk) != "cancelled"]
    templates: dict[tuple[Any, ...], esp_batch.StepTemplate] = {}
    for call in esp_batch.calls(deliveries):
        key = esp_batch.group_key(call[0])
        if key not in templates:
            templates[key] = esp_batch.step_template(call[0])
        message = esp_batch.batch_message(template=templates[key], deliveries=call)
        with _IN_FLIGHT:  # one call in flight a process, until its rows are recorded
            try:
                esp.send_messages([message])
            except Exception as error:
                failure = classify_failure(error)
                for delivery in call:
                    outcomes[delivery.pk] = _record_failure(
                        delivery=delivery, failure=failure, now=now
                    )
                continue
            statuses = message.anymail_status.recipients
            accepted: list[tuple[Delivery, str]] = []
            refused: list[tuple[Delivery, str]] = []
            for delivery in call:
                status = statuses.get(delivery.enrollment.lead.email)
                if status is not None and status.status in ("sent", "queued") and status.message_id:
                    accepted.append((delivery, str(status.message_id)))
                else:
                    refused.append((delivery, status.status if status is not None else "no status"))
            _mark_all_sent(accepted)
        for delivery, _ in accepted:
            outcomes[delivery.pk] = "sent"
            done.append(delivery)
        for delivery, why in refused:
            # This recipient only: the ESP took the others of the call.
            failure = SendFailure(
                temporary=False,
                reason=f"refused by the ESP: {why}",
                bounced=why in ("rejected", "invalid"),
            )
            outcomes[delivery.pk] = _record_failure(delivery=delivery, failure=failure, now=now)


def _mark_all_sent(accepted: list[tuple[Delivery, str]]) -> None:
    """The rows of one API call, each with its own message id, in one statement."""
    if not accepted:
        return
    if db.vendor != "postgresql":
        with transaction.atomic():
            for delivery, message_id in accepted:
                _mark_sent(delivery=delivery, message_id=message_id)
        return
    now = timezone.now()
    rows = ", ".join(["(%s, %s)"] * len(accepted))
    table = Delivery._meta.db_table
    sql = (
        f"UPDATE {table} AS d SET status = %s, sent_at = %s, status_changed_at = %s,"  # noqa: S608 - our own table
        " message_id = v.message_id, attempts = d.attempts + 1, last_error = ''"
        f" FROM (VALUES {rows}) AS v (id, message_id) WHERE d.id = v.id AND d.status = %s"
    )
    params: list[Any] = [Delivery.Status.SENT, now, now]
    for delivery, message_id in accepted:
        params += [delivery.pk, message_id]
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, Delivery.Status.SENDING])


def _commit_without_flush(on: bool) -> None:
    """The per-message "sent" records commit without waiting for the WAL flush to disk.

    That wait (an fsync per email) was most of a batch's time. Losing it is safe against
    what the exactly-once rule is about, a worker killed mid-batch: a commit the server has
    acknowledged survives the worker. Only a PostgreSQL crash could forget the last fraction
    of a second of records, and then resend those few emails. Session-wide for the batch,
    and put back after it (the worker's connection is reused by other tasks).
    """
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")


def _states(deliveries: list[Delivery]) -> dict[int, tuple[str, str]]:
    """The batch's enrollments' states, read again after a send-time exit."""
    ids = {delivery.enrollment_id for delivery in deliveries}
    return {
        pk: (state, reason)
        for pk, state, reason in Enrollment.objects.filter(pk__in=ids).values_list(
            "pk", "state", "exit_reason"
        )
    }


def _ended_in_batch(delivery: Delivery, states: dict[int, tuple[str, str]]) -> bool:
    state, reason = states.get(delivery.enrollment_id, (delivery.enrollment.state, ""))
    if state in (Enrollment.State.ACTIVE, Enrollment.State.PAUSED):
        return False
    if state == delivery.enrollment.state:
        return False  # ended before this batch: the send-time checks below say why
    survives = reason == Enrollment.ExitReason.HANDED_TO_SALES and exits.is_confirmation(
        delivery.step
    )
    return not survives


def _claim(*, delivery_ids: Ids[int], now: datetime) -> list[int]:
    ids = list(delivery_ids)
    if not ids:
        return []
    table = Delivery._meta.db_table
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET status = %s, status_changed_at = %s"  # noqa: S608 - our own table
        f" WHERE id IN ({placeholders}) AND status = %s RETURNING id"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [Delivery.Status.SENDING, now, *ids, Delivery.Status.QUEUED])
        return [row[0] for row in cursor.fetchall()]


def _connection_lost(error: Exception) -> bool:
    """After these the SMTP session is unusable: the next message needs a new connection."""
    if isinstance(error, smtplib.SMTPServerDisconnected | socket.timeout | ConnectionError):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421


def _close_quietly(mail_connection: Any) -> None:
    try:
        mail_connection.close()
    except Exception:  # a dead socket cannot be closed cleanly; it is dropped either way
        logger.debug("closing a broken mail connection", exc_info=True)


def classify_failure(error: Exception) -> SendFailure:
    """Temporary failures (4xx, timeouts, a dropped connection) retry; others are final."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return SendFailure(
            temporary=not permanent,
            reason=f"recipient refused: {error.recipients}",
            bounced=permanent,
        )
    if isinstance(error, smtplib.SMTPResponseException):
        detail = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return SendFailure(
            temporary=400 <= error.smtp_code < 500, reason=f"{error.smtp_code} {detail}"
        )
    if isinstance(error, AnymailRecipientsRefused):
        return SendFailure(temporary=False, reason=str(error), bounced=True)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None) or 0
        return SendFailure(
            temporary=status == 429 or status >= 500 or status == 0, reason=str(error)[:500]
        )
    if isinstance(error, smtplib.SMTPServerDisconnected | socket.timeout | OSError):
        return SendFailure(temporary=True, reason=f"{type(error).__name__}: {error}")
    return SendFailure(temporary=False, reason=f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class Hold:
    """Why a claimed delivery must not go now, and what that means for its row and lead."""

    outcome: str  # what send_batch reports: "paused", "cancelled", "suppressed", ...
    status: str  # the row's new status (back to scheduled, or cancelled or skipped)
    note: str = ""  # kept as the row's last_error
    exit_reason: str = ""  # the lead's enrollments end for this reason
    exit_sequence_id: int | None = None  # only this sequence's (None: all of them)
    complete: bool = False  # the enrollment may be done now (a skipped last step)


def _hold_for(delivery: Delivery, *, suppressed: set[str]) -> Hold | None:
    """The hold on this delivery, else None. Reads only: `_hold` writes what it means."""
    lead, enrollment, step = delivery.enrollment.lead, delivery.enrollment, delivery.step
    sequence = enrollment.sequence
    scheduled, cancelled, skipped = (
        Delivery.Status.SCHEDULED,
        Delivery.Status.CANCELLED,
        Delivery.Status.SKIPPED,
    )
    if enrollment.state == Enrollment.State.PAUSED:
        return Hold("paused", scheduled)
    live = enrollment.state == Enrollment.State.ACTIVE or exits.confirmation_survives(
        enrollment=enrollment, step=step
    )
    if not live or not step.is_active:
        return Hold("cancelled", cancelled, "enrollment ended or step removed")
    if lead.email in suppressed:
        return Hold(
            "suppressed",
            skipped,
            "address suppressed",
            exit_reason=Enrollment.ExitReason.SUPPRESSED,
        )
    if lead.stage in _STAGE_EXITS:
        return Hold(
            "exited", cancelled, f"lead is {lead.stage}", exit_reason=_STAGE_EXITS[lead.stage]
        )
    # Re-read here, not only when the lead turned hot: that exit may have run before this
    # enrollment existed, or the lead may have turned hot after this row was queued.
    handed_off = exits.handed_to_sales(lead=lead, sequence=sequence)
    if handed_off is not None and not exits.is_confirmation(step):
        return Hold(
            "handed to sales",
            skipped,
            f"handed to sales: {handed_off}",
            exit_reason=Enrollment.ExitReason.HANDED_TO_SALES,
            exit_sequence_id=sequence.pk,
        )
    if sequence.status != sequence.Status.ACTIVE:
        return Hold("paused", scheduled)
    if step.only_temperatures and lead.temperature not in step.only_temperatures:
        return Hold("skipped", skipped, f"condition: lead is {lead.temperature}", complete=True)
    if step.click_condition and not _click_condition_met(delivery):
        return Hold(
            "skipped", skipped, f"condition: {step.get_click_condition_display()}", complete=True
        )
    return None


def _hold(delivery: Delivery, hold: Hold) -> str:
    """Write what `hold` means: the row back to scheduled (a pause) or finished, the lead's
    exit, the enrollment completed. Returns the outcome send_batch reports."""
    if hold.status == Delivery.Status.SCHEDULED:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED, status_changed_at=timezone.now()
        )
        return hold.outcome
    _finish(delivery, hold.status, hold.note)
    if hold.exit_reason:
        exit_enrollments(
            lead_id=delivery.enrollment.lead_id,
            reason=hold.exit_reason,
            sequence_id=hold.exit_sequence_id,
        )
    if hold.complete:
        _complete_if_done(enrollment_id=delivery.enrollment_id)
    return hold.outcome


def _click_condition_met(delivery: Delivery) -> bool:
    previous = (
        Delivery.objects.filter(enrollment=delivery.enrollment_id, step__day__lt=delivery.step.day)
        .order_by("-step__day")
        .first()
    )
    clicked = previous is not None and previous.clicked_at is not None
    return clicked if delivery.step.click_condition == Step.ClickCondition.CLICKED else not clicked


_MARK_SENT = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, status_changed_at = %s,"  # noqa: S608 - our own table
    " message_id = %s, attempts = attempts + 1, last_error = '' WHERE id = %s AND status = %s"
)


def _mark_sent(*, delivery: Delivery, message_id: str) -> None:
    # One statement per accepted message (what makes a killed worker resend at most the one
    # in flight), as plain SQL: the ORM's update() compiled its query anew each time.
    now = timezone.now()
    with db.cursor() as cursor:
        cursor.execute(
            _MARK_SENT,
            [Delivery.Status.SENT, now, now, message_id, delivery.pk, Delivery.Status.SENDING],
        )


def _after_sent(deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    _wake_journeys([d for d in deliveries if d.node_id is not None])
    day_lists = {d.enrollment_id for d in deliveries if d.node_id is None}
    if day_lists:
        _complete_if_done(enrollment_ids=day_lists)


def _record_failure(*, delivery: Delivery, failure: SendFailure, now: datetime) -> str:
    attempts = delivery.attempts + 1
    if failure.temporary and attempts < settings.NURTURE_MAX_ATTEMPTS:
        # The one backoff webhooks use too: doubling, capped, jitter as configured.
        wait = backoff_seconds(
            attempts=attempts,
            base=settings.NURTURE_RETRY_BASE_SECONDS,
            cap=settings.NURTURE_RETRY_MAX_SECONDS,
            jitter=settings.NURTURE_RETRY_JITTER,
        )
        backoff = timedelta(seconds=wait)
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SCHEDULED,
            due_at=now + backoff,
            attempts=attempts,
            last_error=failure.reason[:2000],
            status_changed_at=timezone.now(),
        )
        logger.info(
            "delivery %s: temporary failure, retry in %s: %s", delivery.pk, backoff, failure.reason
        )
        return "retry"
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED,
        attempts=attempts,
        last_error=failure.reason[:2000],
        status_changed_at=timezone.now(),
    )
    logger.warning("delivery %s failed: %s", delivery.pk, failure.reason)
    _wake_journey(delivery)
    if failure.bounced:
        suppress(
            email=delivery.enrollment.lead.email,
            reason=Suppression.Reason.BOUNCED,
            detail=failure.reason,
        )
    return "failed"


def _finish(delivery: Delivery, status: str, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=status, last_error=reason, status_changed_at=timezone.now()
    )
    _wake_journey(delivery)


def _wake_journey(delivery: Delivery) -> None:
    """A journey's email is done (sent, skipped, failed): its lead moves on at the next tick."""
    _wake_journeys([delivery])


def _wake_journeys(deliveries: list[Delivery]) -> None:
    """The same for a batch's sent emails: one UPDATE per email node, not one per email."""
    by_node: dict[int, list[int]] = {}
    for delivery in deliveries:
        if delivery.node_id is not None:
            by_node.setdefault(delivery.node_id, []).append(delivery.enrollment_id)
    now = timezone.now()
    for node_id, enrollment_ids in by_node.items():
        Enrollment.objects.filter(
            pk__in=enrollment_ids, current_node_id=node_id, state=Enrollment.State.ACTIVE
        ).update(next_at=now)


def _complete_if_done(
    *, enrollment_id: int | None = None, enrollment_ids: Iterable[int] = ()
) -> None:
    # One conditional UPDATE: two last deliveries finishing at once cannot both miss it.
    pending = Delivery.objects.filter(
        enrollment_id=OuterRef("pk"),
        status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING],
    )
    # A journey's enrollment ends at its last node, not when it has no email pending.
    ids = [enrollment_id] if enrollment_id is not None else list(enrollment_ids)
    Enrollment.objects.filter(
        pk__in=ids, state=Enrollment.State.ACTIVE, current_node__isnull=True
    ).exclude(Exists(pending)).update(state=Enrollment.State.COMPLETED, ended_at=timezone.now())
