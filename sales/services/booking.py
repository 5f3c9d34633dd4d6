"""Prospects booking a consultation in a rep's free time."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import formataddr, parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import record_activity
from leadfunnel.groups import SALES_REPS
from leadfunnel.mail import OutgoingEmail, sender_domain
from nurture.models import Enrollment
from nurture.services import goals, triggers
from nurture.services.scheduling import exit_enrollments
from nurture.tokens import BOOKING_SALT
from sales.models import Booking, LeadChange, RepProfile
from sales.signals import booking_created, stage_changed

logger = logging.getLogger(__name__)
# A booking link stays valid this long after its email was sent.
BOOKING_LINK_MAX_AGE = timedelta(days=90)
# Prospects cannot take a slot starting sooner than this: the rep needs time to prepare.
MIN_NOTICE = timedelta(hours=2)
_CLOSED_STAGES = (Lead.Stage.WON, Lead.Stage.LOST)


class SlotTaken(Exception):
    """Every rep free at that time was booked a moment ago."""


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime


def lead_for_booking_token(*, token: str) -> Lead:
    """The lead a booking link was made for; BadSignature (or Lead.DoesNotExist) otherwise."""
    uid = signing.loads(token, salt=BOOKING_SALT, max_age=BOOKING_LINK_MAX_AGE)
    return Lead.objects.get(uid=uid)


def bookable_reps() -> list[RepProfile]:
    return list(
        RepProfile.objects.filter(user__is_active=True, user__groups__name=SALES_REPS)
        .select_related("user")
        .prefetch_related("blocked_dates")
        .order_by("pk")
    )


def available_slots(
    *, now: datetime | None = None, days: int = 14, reps: Iterable[RepProfile] | None = None
) -> list[Slot]:
    """Every start time at least one rep is free, in the next `days`, earliest first."""
    now = now or timezone.now()
    reps = list(reps) if reps is not None else bookable_reps()
    booked = set(
        Booking.objects.filter(
            status=Booking.Status.BOOKED, starts_at__gte=now, rep__in=reps
        ).values_list("rep_id", "starts_at")
    )
    slots: dict[datetime, Slot] = {}
    for rep in reps:
        for slot in _rep_slots(rep=rep, now=now, days=days):
            if (rep.pk, slot.starts_at) not in booked:
                slots.setdefault(slot.starts_at, slot)
    return [slots[start] for start in sorted(slots)]


def book_slot(*, lead: Lead, starts_at: datetime, now: datetime | None = None) -> Booking:
    """Book `starts_at` for `lead` with a free rep (its owner first), or raise SlotTaken.

    The partial unique index on (rep, starts_at) is what makes double booking impossible:
    two prospects racing for one slot both try the insert and exactly one wins.
    """
    now = now or timezone.now()
    reps = bookable_reps()
    offered = {slot.starts_at: slot for slot in available_slots(now=now, reps=reps)}
    slot = offered.get(starts_at)
    if slot is None:
        raise SlotTaken
    candidates = [rep for rep in reps if starts_at in {
        s.starts_at for s in _rep_slots(rep=rep, now=now, days=15)}]  # fmt: skip
    candidates.sort(key=lambda rep: (rep.user_id != lead.owner_id, rep.pk))
    with transaction.atomic():
        # A reschedule: the new booking is the same calendar event, moved (same UID, higher
        # SEQUENCE), so the prospect's calendar updates it rather than keeping both.
        previous = (
            Booking.objects.select_for_update()
            .filter(lead=lead, status=Booking.Status.BOOKED)
            .first()
        )
        if previous is not None:
            previous.status, previous.cancelled_at = Booking.Status.CANCELLED, now
            previous.save(update_fields=["status", "cancelled_at"])
        booking = _insert_first_free(
            lead=lead, slot=slot, candidates=candidates,
            calendar=(previous.calendar_uid, previous.calendar_sequence + 1) if previous else None,
        )  # fmt: skip
        old_stage = lead.stage
        if (
            Lead.objects.filter(pk=lead.pk)
            .exclude(stage__in=_CLOSED_STAGES)
            .update(stage=Lead.Stage.BOOKED)
        ):
            LeadChange.objects.create(lead=lead, field=LeadChange.Field.STAGE,
                                      old_value=old_stage, new_value=Lead.Stage.BOOKED,
                                      reason="Booked a consultation")  # fmt: skip
            if old_stage != Lead.Stage.BOOKED:
                transaction.on_commit(lambda: stage_changed.send(
                    sender=Lead, lead_id=lead.pk, old=old_stage, new=Lead.Stage.BOOKED,
                    actor_id=None))  # fmt: skip
        record_activity(
            lead=lead,
            kind=Activity.Kind.BOOKING_MADE,
            metadata={"booking_id": booking.pk, "starts_at": starts_at.isoformat()},
        )
        # Journeys whose goal is a booking convert first; the exit then ends the others.
        goals.convert(lead_id=lead.pk, event=goals.BOOKED, now=now)
        exit_enrollments(lead_id=lead.pk, reason=Enrollment.ExitReason.BOOKED)
        transaction.on_commit(lambda: send_booking_emails(booking_id=booking.pk))
        transaction.on_commit(lambda: booking_created.send(
            sender=Booking, lead_id=lead.pk, booking_id=booking.pk))  # fmt: skip
    return booking


def cancel_booking(*, lead: Lead, now: datetime | None = None) -> Booking | None:
    now = now or timezone.now()
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .filter(lead=lead, status=Booking.Status.BOOKED)
            .first()
        )
        if booking is None:
            return None
        booking.status, booking.cancelled_at = Booking.Status.CANCELLED, now
        # A CANCEL must outrank the REQUEST it withdraws (RFC 5546 §2.1.4).
        booking.calendar_sequence += 1
        booking.save(update_fields=["status", "cancelled_at", "calendar_sequence"])
        record_activity(
            lead=lead,
            kind=Activity.Kind.CUSTOM,
            metadata={"event": "booking_cancelled", "booking_id": booking.pk},
        )
        transaction.on_commit(lambda: send_booking_emails(booking_id=booking.pk))
        transaction.on_commit(lambda: _enter_cancellation_journeys(booking=booking))
    return booking


def _enter_cancellation_journeys(*, booking: Booking) -> None:
    # After commit, like a receiver: the cancellation stands even if a journey fails to start.
    try:
        triggers.on_booking_cancelled(lead_id=booking.lead_id, booking_id=booking.pk)
    except Exception:
        logger.exception("Booking-cancelled journeys failed for lead %s", booking.lead_id)


def calendar_invite(*, booking: Booking) -> bytes:
    """An iCalendar (.ics) invite for the booking, or its cancellation (RFC 5545/5546).

    The organizer is the named rep at their own address, so an attendee's accept or
    decline (an iTIP REPLY, sent to the ORGANIZER) and "reply to organizer" reach the
    person holding the meeting; SENT-BY names the From address the email comes from, which
    is what clients compare with the sender. A rep without an address organizes from it.
    """
    cancelled = booking.status == Booking.Status.CANCELLED
    rep, lead = booking.rep.user, booking.lead
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//leadfunnel//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    # Globally unique (RFC 5545 §3.8.4.7): a random id at the sender's domain, the same for
    # a booking's invite, its reschedules and its cancellation.
    event.add("uid", f"{booking.calendar_uid}@{sender_domain(settings.DEFAULT_FROM_EMAIL)}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"Free consultation with {rep_name(booking=booking)}")
    event.add("location", meeting_place(booking=booking))
    if booking.rep.meeting_url:
        event.add("url", booking.rep.meeting_url)
    event.add("description", f"Consultation with {rep_name(booking=booking)}."
                             f" Reschedule or cancel: {manage_url(lead=lead)}")  # fmt: skip
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", booking.calendar_sequence)
    organizer = icalendar.vCalAddress(f"mailto:{rep.email or sender}")
    organizer.params["cn"] = icalendar.vText(rep_name(booking=booking))
    if rep.email and rep.email.lower() != sender.lower():
        organizer.params["sent-by"] = icalendar.vText(f"mailto:{sender}")
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{lead.email}")
    attendee.params["cn"] = icalendar.vText(" ".join(lead.full_name.split()) or lead.email)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = icalendar.vText("NEEDS-ACTION")
    attendee.params["rsvp"] = icalendar.vText("TRUE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def rep_name(*, booking: Booking) -> str:
    return " ".join(booking.rep.user.get_full_name().split()) or "our team"


def meeting_place(*, booking: Booking) -> str:
    """The invite's LOCATION: the rep's meeting link, else how the call happens."""
    return booking.rep.meeting_url or f"Call with {rep_name(booking=booking)}"


def manage_url(*, lead: Lead) -> str:
    from nurture.tokens import booking_token

    return settings.SITE_URL + reverse("booking:book", args=[booking_token(lead_uid=str(lead.uid))])


def send_booking_emails(*, booking_id: int) -> None:
    """Confirmation (or cancellation) with the invite, to the prospect and to the rep."""
    booking = Booking.objects.select_related("lead", "rep__user").get(pk=booking_id)
    invite = calendar_invite(booking=booking)
    lead, rep = booking.lead, booking.rep.user
    prospect_zone = _zone(lead.time_zone)
    context = {"booking": booking, "lead": lead, "rep": rep, "manage_url": manage_url(lead=lead),
               "local_start": booking.starts_at.astimezone(prospect_zone),
               "zone": prospect_zone.key, "rep_zone": booking.rep.time_zone or "UTC",
               "cancelled": booking.status == "cancelled", "rep_name": rep_name(booking=booking),
               "minutes": int((booking.ends_at - booking.starts_at).total_seconds() // 60),
               "meeting_url": booking.rep.meeting_url,
               "meeting_place": meeting_place(booking=booking)}  # fmt: skip
    # The prospect's copy comes from the rep by name at the app's own address (aligned for
    # DMARC), the name the invite's ORGANIZER carries.
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    from_rep = formataddr((rep_name(booking=booking), sender)) if rep.get_full_name() else None
    # Each side's reply reaches the other: the prospect's questions go to the named rep,
    # the rep's note to the prospect (a rep without an address: replies go to the sender).
    rep_address = [formataddr((rep.get_full_name(), rep.email))] if rep.email else []
    recipients = [(lead.email, "sales/booking/email_prospect", rep_address, from_rep, True)]
    if rep.email:
        lead_address = formataddr((" ".join(lead.full_name.split()), lead.email))
        recipients.append((rep.email, "sales/booking/email_rep", [lead_address], None, False))
    for to, template, reply_to, from_email, with_html in recipients:
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        message = OutgoingEmail(
            subject=" ".join(subject.split()), body=render_to_string(f"{template}.txt", context),
            from_email=from_email or settings.DEFAULT_FROM_EMAIL, to=[to], reply_to=reply_to,
        )  # fmt: skip
        if with_html:
            message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
        method = "CANCEL" if context["cancelled"] else "REQUEST"
        message.attach("invite.ics", invite, f"text/calendar; method={method}; charset=utf-8")
        try:
            message.send()
        except Exception:
            # The booking stands; a lost confirmation must not undo it.
            logger.exception("booking %s: could not email %s", booking.pk, to)


def _insert_first_free(
    *,
    lead: Lead,
    slot: Slot,
    candidates: list[RepProfile],
    calendar: tuple[uuid.UUID, int] | None = None,
) -> Booking:
    """`calendar`: the UID and SEQUENCE of the event a reschedule moves, else a new one."""
    identity = {"calendar_uid": calendar[0], "calendar_sequence": calendar[1]} if calendar else {}
    for rep in candidates:
        try:
            with transaction.atomic():
                return Booking.objects.create(
                    lead=lead, rep=rep, starts_at=slot.starts_at, ends_at=slot.ends_at,
                    **identity,
                )  # fmt: skip
        except IntegrityError:
            continue  # that rep's slot was taken a moment ago; try the next free rep
    raise SlotTaken


def _rep_slots(*, rep: RepProfile, now: datetime, days: int) -> list[Slot]:
    zone = _zone(rep.time_zone)
    blocked = {blocked.date for blocked in rep.blocked_dates.all()}
    length = timedelta(minutes=rep.slot_minutes or 30)
    earliest = now + MIN_NOTICE
    today = now.astimezone(zone).date()
    slots = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        if day in blocked:
            continue
        for start_text, end_text in rep.weekly_hours.get(str(day.weekday()), []):
            start = datetime.combine(day, time.fromisoformat(start_text), tzinfo=zone)
            end = datetime.combine(day, time.fromisoformat(end_text), tzinfo=zone)
            moment = start
            while moment + length <= end:
                if moment >= earliest:
                    utc = moment.astimezone(ZoneInfo("UTC"))
                    slots.append(Slot(starts_at=utc, ends_at=utc + length))
                moment += length
    return slots


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def slots_by_day(*, slots: list[Slot], zone: ZoneInfo) -> list[tuple[date, list[datetime]]]:
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        local = slot.starts_at.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return sorted(days.items())
