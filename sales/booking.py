"""The prospect's booking pages, reached from the signed link in the Day-7 email."""

import zoneinfo
from datetime import datetime

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from capture.models import Lead
from sales.models import Booking
from sales.services import booking as booking_service

_ZONES = zoneinfo.available_timezones()


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest, token: str) -> HttpResponse:
    lead = _lead_or_none(token)
    if lead is None:
        return render(request, "sales/booking/invalid.html", status=404)
    zone = _viewer_zone(request, lead)
    error, status = "", 200
    if request.method == "POST":
        try:
            starts_at = datetime.fromisoformat(request.POST.get("slot", ""))
            if starts_at.tzinfo is None:
                raise ValueError("naive time")
            booking_service.book_slot(lead=lead, starts_at=starts_at)
        except ValueError:
            error, status = "Please choose one of the times below.", 400
        except booking_service.SlotTaken:
            error = "Sorry, that time was just taken. Please choose another."
            status = 409
        else:
            return redirect(f"{request.path}?tz={zone.key}&booked=1")
    current = Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED).select_related(
        "rep__user").first()  # fmt: skip
    slots = booking_service.available_slots()
    context = {
        "lead": lead,
        "token": token,
        "zone": zone.key,
        "zone_known": bool(request.GET.get("tz") or lead.time_zone),
        "current": current,
        "current_local": current.starts_at.astimezone(zone) if current else None,
        "days": booking_service.slots_by_day(slots=slots, zone=zone),
        "error": error,
        "just_booked": request.GET.get("booked") == "1" and current is not None,
    }
    return render(request, "sales/booking/book.html", context, status=status)


@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    lead = _lead_or_none(token)
    if lead is None:
        return render(request, "sales/booking/invalid.html", status=404)
    booking_service.cancel_booking(lead=lead)
    return render(request, "sales/booking/cancelled.html", {"lead": lead, "token": token})


@require_GET
def invite(request: HttpRequest, token: str) -> HttpResponse:
    lead = _lead_or_none(token)
    booking = (
        Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED).select_related(
            "lead", "rep__user").first() if lead else None
    )  # fmt: skip
    if booking is None:
        return render(request, "sales/booking/invalid.html", status=404)
    response = HttpResponse(booking_service.calendar_invite(booking=booking),
                            content_type="text/calendar; charset=utf-8")  # fmt: skip
    response["Content-Disposition"] = 'attachment; filename="consultation.ics"'
    return response


def _lead_or_none(token: str) -> Lead | None:
    try:
        return booking_service.lead_for_booking_token(token=token)
    except (signing.BadSignature, Lead.DoesNotExist):
        return None


def _viewer_zone(request: HttpRequest, lead: Lead) -> zoneinfo.ZoneInfo:
    for name in (request.GET.get("tz", ""), lead.time_zone, "UTC"):
        if name in _ZONES:
            return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")
