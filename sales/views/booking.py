"""The prospect's booking pages, reached from the signed link in the Day-7 email (or shown
on a consultation page's thank-you page, `?embed=1`).

Month → day → time → confirm, all server-rendered links and forms: the page works without
JavaScript, in an iframe of our own site, and on a phone. Times are shown in the viewer's
zone (their choice on this lead's page, kept in the session per lead, else the lead's, else
the browser's) and in their locale's clock (12-hour for the US and a few others, 24-hour
elsewhere). A signed-in user is a rep booking for the lead (the lead page's "Book a
meeting"): they read the lead's zone, and their booking never changes it.
"""

import calendar
import zoneinfo
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.csp import CSP, build_policy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from capture.models import Lead
from leadfunnel.zones import is_time_zone
from sales.models import Booking
from sales.services import booking as booking_service

SESSION_ZONE = "booking_zone"
COMMON_ZONES = booking_service.COMMON_ZONES
zone_label = booking_service.zone_label
# Locales whose clocks read 12-hour (CLDR's "h" time formats); everything else gets 24-hour.
_TWELVE_HOUR = {"en", "en-us", "en-ca", "en-au", "en-nz", "en-in", "en-ph", "es-us", "hi", "ar"}


@dataclass(frozen=True)
class Viewer:
    """Whose booking page this is, and how they read times."""

    lead: Lead
    token: str
    zone: zoneinfo.ZoneInfo
    twelve_hour: bool
    embed: bool
    reschedule: bool
    # `zone` was chosen on this lead's page (the select, or the browser asked by booking.js),
    # not taken from the lead: only then do links and forms carry it.
    zone_chosen: bool = False
    # A signed-in rep booking for the lead, not the prospect.
    by_rep: bool = False
    # False: nobody chose a zone and the lead has none; the page asks the browser for one.
    zone_known: bool = True

    @property
    def lead_zone(self) -> str:
        return _lead_zone(self.lead)

    @property
    def hours_zone(self) -> zoneinfo.ZoneInfo:
        """Whose day a slot must fit: the prospect's, even while a rep reads another zone."""
        if self.by_rep and self.lead_zone:
            return zoneinfo.ZoneInfo(self.lead_zone)
        return self.zone

    @property
    def picked_zone(self) -> str:
        """The zone a booking makes the lead's: one the prospect picked, never a rep's."""
        return self.zone.key if self.zone_chosen and not self.by_rep else ""

    def query(self, **extra: str) -> str:
        params = {"tz": self.zone.key} if self.zone_chosen else {}
        if self.embed:
            params["embed"] = "1"
        if self.reschedule:
            params["reschedule"] = "1"
        params.update({key: value for key, value in extra.items() if value})
        return "?" + urlencode(params)

    def time(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        if not self.twelve_hour:
            return f"{local:%H:%M}"
        return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"

    def day(self, day: date) -> str:
        if self.twelve_hour:
            return f"{day:%A}, {day:%B} {day.day}"
        return f"{day:%A} {day.day} {day:%B}"

    def moment(self, starts_at: datetime, ends_at: datetime | None = None) -> str:
        local = starts_at.astimezone(self.zone)
        text = f"{self.day(local.date())}, {local.year}, {self.time(local)}"
        return f"{text} – {self.time(ends_at)}" if ends_at else text


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest, token: str) -> HttpResponse:
    viewer = _viewer(request, token)
    if viewer is None:
        return render(request, "sales/booking/invalid.html", status=404)
    if request.method == "POST":
        return _book(request, viewer)
    current = _current_booking(viewer.lead)
    if "slot" in request.GET:
        return _confirm(request, viewer, current)
    return _picker(request, viewer, current)


def _book(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    try:
        starts_at = _parse_slot(request.POST.get("slot", ""))
    except ValueError:
        return _picker(
            request,
            viewer,
            _current_booking(viewer.lead),
            status=400,
            error="Please choose one of the times below.",
        )
    try:
        booking_service.book_slot(
            lead=viewer.lead, starts_at=starts_at, time_zone=viewer.picked_zone
        )
    except booking_service.SlotTaken:
        return _picker(
            request,
            viewer,
            _current_booking(viewer.lead),
            status=409,
            error="Sorry, that time was just taken. Please choose another.",
        )
    done = replace(viewer, reschedule=False)
    return redirect(request.path + done.query(booked="1"))


def _confirm(request: HttpRequest, viewer: Viewer, current: Booking | None) -> HttpResponse:
    try:
        starts_at = _parse_slot(request.GET.get("slot", ""))
    except ValueError:
        return _picker(
            request, viewer, current, status=400, error="Please choose one of the times below."
        )
    offered = {slot.starts_at: slot for slot in _offered(viewer)}
    slot = offered.get(starts_at)
    if slot is None:
        messages.warning(request, "That time is no longer free. Please choose another.")
        return redirect(request.path + viewer.query())
    lead = viewer.lead
    context = _base_context(viewer) | {
        "slot": slot,
        "slot_text": viewer.moment(slot.starts_at, slot.ends_at),
        "minutes": int((slot.ends_at - slot.starts_at).total_seconds() // 60),
        "details": [
            (label, value)
            for label, value in (
                ("Name", lead.full_name),
                ("Email", lead.email),
                ("Company", lead.company),
                ("Phone", lead.phone),
            )
            if value
        ],
        "current": current,
        "current_text": viewer.moment(current.starts_at, current.ends_at) if current else "",
        "back_url": request.path
        + viewer.query(day=slot.starts_at.astimezone(viewer.zone).date().isoformat()),
    }
    return _framed(render(request, "sales/booking/confirm.html", context), viewer)


def _picker(
    request: HttpRequest,
    viewer: Viewer,
    current: Booking | None,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    slots = _offered(viewer)
    by_day: dict[date, list[booking_service.Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.starts_at.astimezone(viewer.zone).date(), []).append(slot)
    chosen_day = _date_param(request.GET.get("day", ""))
    if chosen_day not in by_day:
        chosen_day = None
    default_month = (
        chosen_day or (min(by_day) if by_day else timezone.now().astimezone(viewer.zone).date())
    ).replace(day=1)
    month = _month_param(request.GET.get("month", "")) or default_month
    if not any(day.replace(day=1) == month for day in by_day):
        month = default_month  # outside the window (an old or edited link)
    in_month = sorted(day for day in by_day if day.replace(day=1) == month)
    if chosen_day is None and in_month:
        chosen_day = in_month[0]
    showing_booking = current is not None and not viewer.reschedule
    context = _base_context(viewer) | {
        "error": error,
        "current": current,
        "current_text": viewer.moment(current.starts_at, current.ends_at) if current else "",
        "showing_booking": showing_booking,
        "just_booked": request.GET.get("booked") == "1" and current is not None,
        "has_slots": bool(by_day),
        "month_label": f"{month:%B %Y}",
        "weekday_names": _weekday_names(viewer),
        "weeks": _month_grid(request, viewer, month=month, by_day=by_day, chosen=chosen_day),
        "prev_url": _month_url(request, viewer, month, -1, by_day),
        "next_url": _month_url(request, viewer, month, +1, by_day),
        "chosen_day": chosen_day,
        "chosen_day_text": viewer.day(chosen_day) if chosen_day else "",
        "times": [
            {
                "label": viewer.time(slot.starts_at),
                "url": request.path + viewer.query(slot=slot.starts_at.isoformat()),
            }
            for slot in by_day.get(chosen_day, [])
        ]
        if chosen_day
        else [],
        "reschedule_url": request.path + replace(viewer, reschedule=True).query(),
        "keep_url": request.path + replace(viewer, reschedule=False).query(),
    }
    if current is not None:
        context["rep_name"] = booking_service.rep_name(booking=current)
    return _framed(render(request, "sales/booking/book.html", context, status=status), viewer)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks "are you sure?"; POST cancels."""
    viewer = _viewer(request, token)
    if viewer is None:
        return render(request, "sales/booking/invalid.html", status=404)
    current = _current_booking(viewer.lead)
    if request.method == "POST":
        booking_service.cancel_booking(lead=viewer.lead)
        context = _base_context(viewer) | {
            "was": viewer.moment(current.starts_at) if current else ""
        }
        return _framed(render(request, "sales/booking/cancelled.html", context), viewer)
    if current is None:
        messages.info(request, "You have no consultation booked, so there is nothing to cancel.")
        return redirect("booking:book", token=token)
    context = _base_context(viewer) | {
        "current": current,
        "current_text": viewer.moment(current.starts_at, current.ends_at),
        "rep_name": booking_service.rep_name(booking=current),
    }
    return _framed(render(request, "sales/booking/cancel_confirm.html", context), viewer)


@require_GET
def invite(request: HttpRequest, token: str) -> HttpResponse:
    lead = _lead_or_none(token)
    booking = (
        Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED)
        .select_related("lead", "rep__user")
        .first()
        if lead
        else None
    )
    if booking is None:
        return render(request, "sales/booking/invalid.html", status=404)
    response = HttpResponse(
        booking_service.calendar_invite(booking=booking),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="consultation.ics"'
    return response


@never_cache
@require_GET
def rep_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A rep's bookings as an iCalendar feed; the signed token is the only key."""
    profile = booking_service.rep_for_feed_token(token=token)
    if profile is None:
        return HttpResponse(
            "This calendar link is not valid (it may have been reset).",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(
        booking_service.rep_calendar_feed(profile=profile),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="consultations.ics"'
    return response


def _viewer(request: HttpRequest, token: str) -> Viewer | None:
    lead = _lead_or_none(token)
    if lead is None:
        return None
    # Per lead: one session may open several leads' pages (a rep booking for each in turn),
    # and a zone chosen on one says nothing about the next lead's.
    session_key = f"{SESSION_ZONE}:{lead.uid}"
    chosen = _chosen_zone(request)
    if chosen and request.session.get(session_key) != chosen:
        request.session[session_key] = chosen
    remembered = request.session.get(session_key, "")
    chosen = chosen or (remembered if is_time_zone(remembered) else None)
    source = request.POST if request.method == "POST" else request.GET
    return Viewer(
        lead=lead,
        token=token,
        zone=zoneinfo.ZoneInfo(chosen or _lead_zone(lead) or "UTC"),
        twelve_hour=_twelve_hour(request.headers.get("Accept-Language", "")),
        embed=source.get("embed") == "1",
        reschedule=source.get("reschedule") == "1",
        zone_chosen=chosen is not None,
        # Prospects have no accounts: whoever is signed in is staff booking for the lead.
        by_rep=request.user.is_authenticated,
        zone_known=bool(chosen or _lead_zone(lead)),
    )


def _lead_zone(lead: Lead) -> str:
    return lead.time_zone if is_time_zone(lead.time_zone) else ""


def _chosen_zone(request: HttpRequest) -> str | None:
    source = request.POST if request.method == "POST" else request.GET
    name = source.get("tz", "")
    return name if is_time_zone(name) else None


def _twelve_hour(accept_language: str) -> bool:
    """The first language the browser asks for decides the clock ("en-US,en;q=0.9")."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower().replace("_", "-")
    if not first or first == "*":
        return True  # no preference: the page's own English (en-US)
    return first in _TWELVE_HOUR or first.split("-", 1)[0] in {"hi", "ar"}


def _offered(viewer: Viewer) -> list[booking_service.Slot]:
    return booking_service.available_slots(local_zone=viewer.hours_zone)


def _current_booking(lead: Lead) -> Booking | None:
    return (
        Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED)
        .select_related("rep__user")
        .first()
    )


def _base_context(viewer: Viewer) -> dict[str, object]:
    zones = [(group, list(zones)) for group, zones in COMMON_ZONES]
    if viewer.zone.key not in booking_service.ZONE_LABELS:
        zones.insert(0, ("Your zone", [(viewer.zone.key, zone_label(viewer.zone.key))]))
    return {
        "lead": viewer.lead,
        "token": viewer.token,
        "zone": viewer.zone.key,
        "zone_label": zone_label(viewer.zone.key),
        "zone_groups": zones,
        "embed": viewer.embed,
        "reschedule": viewer.reschedule,
        "query": viewer.query(),
        "clock": "12" if viewer.twelve_hour else "24",
        "zone_known": viewer.zone_known,
        "zone_chosen": viewer.zone_chosen,
        "by_rep": viewer.by_rep,
        "zone_is_leads": viewer.zone.key == viewer.lead_zone,
        "lead_zone_label": zone_label(viewer.lead_zone) if viewer.lead_zone else "",
    }


def _weekday_names(viewer: Viewer) -> list[tuple[str, str]]:
    names = [(calendar.day_abbr[index], calendar.day_name[index]) for index in range(7)]
    return names[6:] + names[:6] if viewer.twelve_hour else names


def _month_grid(
    request: HttpRequest,
    viewer: Viewer,
    *,
    month: date,
    by_day: dict[date, list[booking_service.Slot]],
    chosen: date | None,
) -> list[list[dict[str, object]]]:
    # US-style calendars start on Sunday, the rest of the world's on Monday.
    first_weekday = calendar.SUNDAY if viewer.twelve_hour else calendar.MONDAY
    weeks = calendar.Calendar(firstweekday=first_weekday).monthdatescalendar(
        month.year, month.month
    )
    grid: list[list[dict[str, object]]] = []
    for week in weeks:
        row: list[dict[str, object]] = []
        for day in week:
            count = len(by_day.get(day, []))
            inside = day.month == month.month
            row.append(
                {
                    "number": day.day if inside else "",
                    "available": inside and count > 0,
                    "selected": inside and day == chosen,
                    "url": request.path + viewer.query(day=day.isoformat()) if count else "",
                    "label": f"{viewer.day(day)}: {count} time{'s' if count != 1 else ''} free"
                    if count
                    else f"{viewer.day(day)}: no times",
                }
            )
        grid.append(row)
    return grid


def _month_url(
    request: HttpRequest,
    viewer: Viewer,
    month: date,
    step: int,
    by_day: dict[date, list[booking_service.Slot]],
) -> str:
    target = (
        (month + timedelta(days=32)).replace(day=1)
        if step > 0
        else (month - timedelta(days=1)).replace(day=1)
    )
    if not any((day.year, day.month) == (target.year, target.month) for day in by_day):
        return ""
    return request.path + viewer.query(month=f"{target:%Y-%m}")


def _framed(response: HttpResponse, viewer: Viewer) -> HttpResponse:
    """`?embed=1`: framable by the site itself only (the thank-you page), nobody else."""
    if viewer.embed:
        response["X-Frame-Options"] = "SAMEORIGIN"
        policy: dict[str, Any] = {**settings.SECURE_CSP, "frame-ancestors": [CSP.SELF]}
        # The middleware leaves a response that has the header alone: this is the only one.
        response[str(CSP.HEADER_ENFORCE)] = build_policy(policy)
    return response


def _parse_slot(value: str) -> datetime:
    starts_at = datetime.fromisoformat(value)
    if starts_at.tzinfo is None:
        raise ValueError("naive time")
    return starts_at


def _date_param(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _month_param(value: str) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        return None


def _lead_or_none(token: str) -> Lead | None:
    try:
        return booking_service.lead_for_booking_token(token=token)
    except (signing.BadSignature, Lead.DoesNotExist):
        return None
