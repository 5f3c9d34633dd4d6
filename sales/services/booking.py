"""Prospects booking a consultation in a rep's free time."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import record_activity
from leadfunnel.announce import announce_on_commit
from leadfunnel.groups import SALES_REPS
from leadfunnel.mail import OutgoingEmail, sender_domain
from leadfunnel.zones import zone_or
from nurture.models import Enrollment
from nurture.services import goals, triggers
from nurture.services.exiting import exit_enrollments
from nurture.tokens import BOOKING_SALT, booking_token
from sales.models import Booking, LeadChange, RepProfile
from sales.services.contact import mailbox
from sales.services.leads import close_handoff_tasks_locked
from sales.signals import booking_created, stage_changed

logger = logging.getLogger(__name__)
# A booking link stays valid this long after its email was sent.
BOOKING_LINK_MAX_AGE = timedelta(days=90)
# Prospects cannot take a slot starting sooner than this: the rep needs time to prepare.
MIN_NOTICE = timedelta(hours=2)
# How far ahead the picker offers times: four weeks fill a month view.
WINDOW_DAYS = 28
FEED_SALT = "sales.calendar_feed"
# The feed keeps cancelled meetings this long (STATUS:CANCELLED), so subscribed calendars
# that saw them booked take them off; older ones are simply gone.
FEED_PAST = timedelta(days=60)
_CLOSED_STAGES = (Lead.Stage.WON, Lead.Stage.LOST)


# The zones offered in the "Times in" select, named as people say them. A zone outside the
# list (the lead's own, say) is offered too, named after its city.
COMMON_ZONES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Americas",
        [
            ("Pacific/Honolulu", "Hawaii Time (Honolulu)"),
            ("America/Anchorage", "Alaska Time (Anchorage)"),
            ("America/Los_Angeles", "Pacific Time (Los Angeles)"),
            ("America/Vancouver", "Pacific Time (Vancouver)"),
            ("America/Phoenix", "Mountain Time (Phoenix)"),
            ("America/Denver", "Mountain Time (Denver)"),
            ("America/Chicago", "Central Time (Chicago)"),
            ("America/Mexico_City", "Central Time (Mexico City)"),
            ("America/New_York", "Eastern Time (New York)"),
            ("America/Toronto", "Eastern Time (Toronto)"),
            ("America/Halifax", "Atlantic Time (Halifax)"),
            ("America/Bogota", "Colombia Time (Bogotá)"),
            ("America/Sao_Paulo", "Brasília Time (São Paulo)"),
            ("America/Argentina/Buenos_Aires", "Argentina Time (Buenos Aires)"),
        ],
    ),
    (
        "Europe and Africa",
        [
            ("Europe/London", "UK Time (London)"),
            ("Europe/Dublin", "Irish Time (Dublin)"),
            ("Europe/Lisbon", "Western European Time (Lisbon)"),
            ("Africa/Lagos", "West Africa Time (Lagos)"),
            ("Europe/Paris", "Central European Time (Paris)"),
            ("Europe/Berlin", "Central European Time (Berlin)"),
            ("Europe/Madrid", "Central European Time (Madrid)"),
            ("Europe/Rome", "Central European Time (Rome)"),
            ("Europe/Amsterdam", "Central European Time (Amsterdam)"),
            ("Europe/Stockholm", "Central European Time (Stockholm)"),
            ("Europe/Warsaw", "Central European Time (Warsaw)"),
            ("Africa/Johannesburg", "South Africa Time (Johannesburg)"),
            ("Europe/Athens", "Eastern European Time (Athens)"),
            ("Europe/Helsinki", "Eastern European Time (Helsinki)"),
            ("Africa/Cairo", "Eastern European Time (Cairo)"),
            ("Europe/Istanbul", "Turkey Time (Istanbul)"),
            ("Africa/Nairobi", "East Africa Time (Nairobi)"),
            ("Europe/Moscow", "Moscow Time"),
        ],
    ),
    (
        "Asia and Pacific",
        [
            ("Asia/Dubai", "Gulf Time (Dubai)"),
            ("Asia/Karachi", "Pakistan Time (Karachi)"),
            ("Asia/Kolkata", "India Time (Kolkata)"),
            ("Asia/Bangkok", "Indochina Time (Bangkok)"),
            ("Asia/Singapore", "Singapore Time"),
            ("Asia/Shanghai", "China Time (Shanghai)"),
            ("Asia/Hong_Kong", "Hong Kong Time"),
            ("Australia/Perth", "Western Australia Time (Perth)"),
            ("Asia/Tokyo", "Japan Time (Tokyo)"),
            ("Asia/Seoul", "Korea Time (Seoul)"),
            ("Australia/Brisbane", "Eastern Australia Time (Brisbane)"),
            ("Australia/Sydney", "Eastern Australia Time (Sydney)"),
            ("Pacific/Auckland", "New Zealand Time (Auckland)"),
        ],
    ),
    ("Other", [("UTC", "Coordinated Universal Time (UTC)")]),
]
ZONE_LABELS = {key: label for _, zones in COMMON_ZONES for key, label in zones}


def zone_label(key: str) -> str:
    """ "America/New_York" → "Eastern Time (New York)"; others by their city."""
    return ZONE_LABELS.get(key) or f"{key.rsplit('/', 1)[-1].replace('_', ' ')} time"


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


def local_hours() -> tuple[time, time]:
    """BOOKING_LOCAL_HOURS ("07:00-21:00"): the prospect's own hours a slot must fall in."""
    start, _, end = settings.BOOKING_LOCAL_HOURS.partition("-")
    try:
        earliest, latest = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        earliest = latest = time(0)
    if earliest >= latest:
        raise ImproperlyConfigured(
            f"BOOKING_LOCAL_HOURS={settings.BOOKING_LOCAL_HOURS!r}: use HH:MM-HH:MM,"
            " the start before the end, e.g. 07:00-21:00."
        )
    return earliest, latest


def bookable_reps() -> list[RepProfile]:
    return list(
        RepProfile.objects.filter(user__is_active=True, user__groups__name=SALES_REPS)
        .select_related("user")
        .prefetch_related("blocked_dates")
        .order_by("pk")
    )


def available_slots(
    *,
    now: datetime | None = None,
    days: int = WINDOW_DAYS,
    reps: Iterable[RepProfile] | None = None,
    local_zone: ZoneInfo | None = None,
) -> list[Slot]:
    """Every start time at least one rep is free, in the next `days`, earliest first.

    With `local_zone` (the prospect's), only slots that start and end inside
    BOOKING_LOCAL_HOURS there: a rep's 10:00 in Berlin is no 04:00 call for New York.
    """
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
    offered = [slots[start] for start in sorted(slots)]
    if local_zone is None:
        return offered
    return [slot for slot in offered if _within_local_hours(slot=slot, zone=local_zone)]


def _within_local_hours(*, slot: Slot, zone: ZoneInfo) -> bool:
    earliest, latest = local_hours()
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    # A slot ending at midnight or later belongs to the night, not to "until 21:00".
    return (
        start.date() == (end - timedelta(microseconds=1)).date()
        and start.time() >= earliest
        and end.time() <= latest
        and end.time() != time(0)
    )


def book_slot(
    *,
    lead: Lead,
    starts_at: datetime,
    now: datetime | None = None,
    time_zone: str = "",
) -> Booking:
    """Book `starts_at` for `lead` with a free rep (its owner first), or raise SlotTaken.

    The partial unique index on (rep, starts_at) is what makes double booking impossible:
    two prospects racing for one slot both try the insert and exactly one wins.
    `time_zone`: the zone the prospect chose on the booking page; it becomes the lead's, so
    the confirmation (and every later email) speaks their time.
    """
    now = now or timezone.now()
    reps = bookable_reps()
    zone = _zone(time_zone or lead.time_zone) if (time_zone or lead.time_zone) else None
    offered = {
        slot.starts_at: slot for slot in available_slots(now=now, reps=reps, local_zone=zone)
    }
    slot = offered.get(starts_at)
    if slot is None:
        raise SlotTaken
    candidates = [
        rep
        for rep in reps
        if starts_at in {s.starts_at for s in _rep_slots(rep=rep, now=now, days=WINDOW_DAYS + 1)}
    ]
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
            lead=lead,
            slot=slot,
            candidates=candidates,
            calendar=(previous.calendar_uid, previous.calendar_sequence + 1) if previous else None,
        )
        if time_zone and time_zone != lead.time_zone:
            Lead.objects.filter(pk=lead.pk).update(time_zone=time_zone)
            lead.time_zone = time_zone
        old_stage = lead.stage
        if (
            Lead.objects.filter(pk=lead.pk)
            .exclude(stage__in=_CLOSED_STAGES)
            .update(stage=Lead.Stage.BOOKED)
        ):
            change = LeadChange.objects.create(
                lead=lead,
                field=LeadChange.Field.STAGE,
                old_value=old_stage,
                new_value=Lead.Stage.BOOKED,
                reason="Booked a consultation",
            )
            # The prospect booked: the rep's "call within 5 minutes" is closed, by nobody.
            close_handoff_tasks_locked(lead=lead, change=change)
            if old_stage != Lead.Stage.BOOKED:
                announce_on_commit(
                    stage_changed,
                    Lead,
                    lead_id=lead.pk,
                    old=old_stage,
                    new=Lead.Stage.BOOKED,
                    actor_id=None,
                )
        record_activity(
            lead=lead,
            kind=Activity.Kind.BOOKING_MADE,
            metadata={"booking_id": booking.pk, "starts_at": starts_at.isoformat()},
        )
        # Journeys whose goal is a booking convert first; the exit then ends the others.
        goals.convert(lead_id=lead.pk, event=goals.BOOKED, now=now)
        exit_enrollments(lead_id=lead.pk, reason=Enrollment.ExitReason.BOOKED)
        moved_from_id = previous.pk if previous is not None else None
        transaction.on_commit(
            lambda: send_booking_emails(booking_id=booking.pk, moved_from_id=moved_from_id)
        )
        announce_on_commit(booking_created, Booking, lead_id=lead.pk, booking_id=booking.pk)
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
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//leadfunnel//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_calendar_event(booking=booking))
    return bytes(calendar.to_ical())  # bytes(): icalendar leaves to_ical unannotated


def calendar_event_uid(*, booking: Booking) -> str:
    # Globally unique (RFC 5545 §3.8.4.7): a random id at the sender's domain, the same for
    # a booking's invite, its reschedules, its cancellation and the rep's feed.
    return f"{booking.calendar_uid}@{sender_domain(settings.DEFAULT_FROM_EMAIL)}"


def _calendar_event(*, booking: Booking) -> icalendar.Event:
    cancelled = booking.status == Booking.Status.CANCELLED
    rep, lead = booking.rep.user, booking.lead
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    event = icalendar.Event()
    event.add("uid", calendar_event_uid(booking=booking))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"Free consultation with {rep_name(booking=booking)}")
    event.add("location", meeting_place(booking=booking))
    if booking.rep.meeting_url:
        event.add("url", booking.rep.meeting_url)
    event.add(
        "description",
        f"Consultation with {rep_name(booking=booking)}."
        f" Reschedule or cancel: {manage_url(lead=lead)}",
    )
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
    return event


def rep_name(*, booking: Booking) -> str:
    return " ".join(booking.rep.user.get_full_name().split()) or "our team"


def meeting_place(*, booking: Booking) -> str:
    """The invite's LOCATION: the rep's meeting link, else their place, else a call."""
    rep = booking.rep
    return rep.meeting_url or rep.location or f"Call with {rep_name(booking=booking)}"


def feed_token(*, profile: RepProfile) -> str:
    """The secret part of a rep's calendar-feed URL; a new `feed_key` invalidates it."""
    return signing.dumps({"r": profile.pk, "k": profile.feed_key.hex}, salt=FEED_SALT)


def rep_for_feed_token(*, token: str) -> RepProfile | None:
    try:
        data = signing.loads(token, salt=FEED_SALT)
        return RepProfile.objects.select_related("user").get(
            pk=int(data["r"]), feed_key=uuid.UUID(hex=str(data["k"]))
        )
    except (signing.BadSignature, RepProfile.DoesNotExist, KeyError, TypeError, ValueError):
        return None


def reset_feed(*, profile: RepProfile) -> RepProfile:
    profile.feed_key = uuid.uuid4()
    profile.save(update_fields=["feed_key"])
    return profile


def rep_calendar_feed(*, profile: RepProfile, now: datetime | None = None) -> bytes:
    """The rep's bookings as a subscribable iCalendar feed (RFC 5545, no METHOD).

    One VEVENT per calendar event: a reschedule's bookings share a UID (the invite's), so
    only the latest of them is listed; a cancelled one stays as STATUS:CANCELLED for a while.
    """
    now = now or timezone.now()
    latest: dict[uuid.UUID, Booking] = {}
    # In Python, not DISTINCT ON: the development default is SQLite.
    for booking in (
        Booking.objects.filter(rep=profile, starts_at__gte=now - FEED_PAST)
        .select_related("lead", "rep__user")
        .order_by("calendar_uid", "-calendar_sequence", "-created_at")
    ):
        latest.setdefault(booking.calendar_uid, booking)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//leadfunnel//rep calendar//EN")
    calendar.add("version", "2.0")
    name = " ".join(profile.user.get_full_name().split()) or profile.user.get_username()
    calendar.add("x-wr-calname", f"Consultations · {name}")
    # Subscribed calendars poll; these ask for every 15 minutes (Google decides on its own).
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    for booking in sorted(latest.values(), key=lambda booking: booking.starts_at):
        event = _calendar_event(booking=booking)
        lead = booking.lead
        who = " ".join(lead.full_name.split()) or lead.email
        event["summary"] = icalendar.vText(f"Consultation: {who} with {name}")
        details = [
            f"{who} <{lead.email}>",
            lead.company,
            lead.phone,
            settings.SITE_URL + reverse("sales:lead", args=[lead.pk]),
        ]
        event["description"] = icalendar.vText("\n".join(filter(None, details)))
        calendar.add_component(event)
    return bytes(calendar.to_ical())  # bytes(): icalendar leaves to_ical unannotated


def manage_url(*, lead: Lead) -> str:
    path = reverse("booking:book", args=[booking_token(lead_uid=str(lead.uid))])
    return f"{settings.SITE_URL}{path}"


def send_booking_emails(*, booking_id: int, moved_from_id: int | None = None) -> None:
    """Confirmation (or cancellation) with the invite, to the prospect and to the rep.

    `moved_from_id`: the booking a reschedule replaced; both emails then say it moved, from
    which time to which, rather than reading as a second booking.
    """
    booking = Booking.objects.select_related("lead", "rep__user").get(pk=booking_id)
    moved_from = (
        Booking.objects.select_related("rep__user").get(pk=moved_from_id)
        if moved_from_id is not None
        else None
    )
    invite = calendar_invite(booking=booking)
    lead, rep = booking.lead, booking.rep.user
    prospect_zone = _zone(lead.time_zone)
    context = {
        "booking": booking,
        "moved_from": moved_from,
        # A colleague had the old time: the rep hears it is theirs now, and from whom.
        "moved_from_rep": rep_name(booking=moved_from)
        if moved_from is not None and moved_from.rep_id != booking.rep_id
        else "",
        "lead": lead,
        "rep": rep,
        "manage_url": manage_url(lead=lead),
        "local_start": booking.starts_at.astimezone(prospect_zone),
        "previous_local_start": moved_from.starts_at.astimezone(prospect_zone)
        if moved_from is not None
        else None,
        "zone": prospect_zone.key,
        "zone_label": zone_label(prospect_zone.key),
        "rep_zone": booking.rep.time_zone or "UTC",
        "cancelled": booking.status == "cancelled",
        "rep_name": rep_name(booking=booking),
        "minutes": int((booking.ends_at - booking.starts_at).total_seconds() // 60),
        "meeting_url": booking.rep.meeting_url,
        "meeting_place": meeting_place(booking=booking),
    }
    # The prospect's copy comes from the rep by name at the app's own address (aligned for
    # DMARC), the name the invite's ORGANIZER carries.
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    from_rep = (
        mailbox(name=rep_name(booking=booking), address=sender) if rep.get_full_name() else None
    )
    # Each side's reply reaches the other: the prospect's questions go to the named rep,
    # the rep's note to the prospect (a rep without an address: replies go to the sender).
    rep_address = [mailbox(name=rep.get_full_name(), address=rep.email)] if rep.email else []
    recipients = [(lead.email, "sales/booking/email_prospect", rep_address, from_rep, True)]
    if rep.email:
        lead_address = mailbox(name=lead.full_name, address=lead.email)
        recipients.append((rep.email, "sales/booking/email_rep", [lead_address], None, False))
    for to, template, reply_to, from_email, with_html in recipients:
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        message = OutgoingEmail(
            subject=" ".join(subject.split()),
            body=render_to_string(f"{template}.txt", context),
            from_email=from_email or settings.DEFAULT_FROM_EMAIL,
            to=[to],
            reply_to=reply_to,
        )
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
                    lead=lead,
                    rep=rep,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    **identity,
                )
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
        for start_text, end_text in (rep.weekly_hours or {}).get(str(day.weekday()), []):
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
    return zone_or(name)


def slots_by_day(*, slots: list[Slot], zone: ZoneInfo) -> list[tuple[date, list[datetime]]]:
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        local = slot.starts_at.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return sorted(days.items())
