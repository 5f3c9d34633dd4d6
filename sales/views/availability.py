from datetime import date
from itertools import zip_longest

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from leadfunnel.auth import signed_in
from leadfunnel.groups import SALES_REPS
from sales.models import RepProfile
from sales.services import availability as service
from sales.services import booking as booking_service

WEEKDAYS = service.WEEKDAYS


@login_required
def availability(request: HttpRequest) -> HttpResponse:
    """A rep's weekly hours and days off, offered to prospects on the booking page."""
    user = signed_in(request.user)
    if not (user.is_superuser or user.groups.filter(name=SALES_REPS).exists()):
        raise PermissionDenied
    profile = service.rep_profile_for(user=user)
    error, status = "", 200
    if request.method == "POST":
        try:
            done = _apply(request, profile)
        except service.AvailabilityError as problem:
            error, status = str(problem), 400
        else:
            messages.success(request, done)
            return redirect("sales:availability")
    posted = error and request.POST.get("action", "hours") == "hours"
    days = [
        (index, name, _posted_ranges(request, index) if posted else _saved_ranges(profile, index))
        for index, name in enumerate(WEEKDAYS)
    ]
    feed_path = reverse("booking:rep_feed", args=[booking_service.feed_token(profile=profile)])
    context = {
        "profile": profile,
        "days": days,
        "error": error,
        "feed_url": settings.SITE_URL + feed_path,
        "zone_choices": [zone for _, zones in booking_service.COMMON_ZONES for zone in zones],
        "feed_webcal": "webcal://" + settings.SITE_URL.split("://", 1)[-1] + feed_path,
        "blocked": profile.blocked_dates.filter(date__gte=timezone.localdate()),
    }
    return render(request, "sales/availability.html", context, status=status)


def _saved_ranges(profile: RepProfile, weekday: int) -> list[tuple[str, ...]]:
    return [tuple(pair) for pair in profile.weekly_hours.get(str(weekday), [])]


def _posted_ranges(request: HttpRequest, weekday: int) -> list[tuple[str, str]]:
    """The picker's rows for one weekday, paired in order (one start and one end each)."""
    starts = request.POST.getlist(f"day{weekday}_start")
    ends = request.POST.getlist(f"day{weekday}_end")
    return list(zip_longest(starts, ends, fillvalue=""))


def _apply(request: HttpRequest, profile: RepProfile) -> str:
    action = request.POST.get("action", "hours")
    if action == "block":
        try:
            day = date.fromisoformat(request.POST.get("date", ""))
        except ValueError:
            raise service.AvailabilityError("Choose the date to block.") from None
        service.block_date(profile=profile, day=day, reason=request.POST.get("reason", ""))
        return "The day is blocked."
    if action == "unblock":
        try:
            blocked_id = int(request.POST.get("blocked", ""))
        except ValueError:
            raise service.AvailabilityError("Choose the day to free.") from None
        service.unblock_date(profile=profile, blocked_id=blocked_id)
        return "The day is free again."
    if action == "reset_feed":
        booking_service.reset_feed(profile=profile)
        return "Your calendar link is reset: calendars subscribed to the old one stop updating."
    try:
        slot_minutes = int(request.POST.get("slot_minutes", ""))
    except ValueError:
        raise service.AvailabilityError("Meetings last 15, 30, 45 or 60 minutes.") from None
    # A form without the field (an older page) keeps what is saved.
    meeting_url, location = request.POST.get("meeting_url"), request.POST.get("location")
    service.update_availability(
        profile=profile,
        days={index: _posted_ranges(request, index) for index in range(7)},
        time_zone=request.POST.get("time_zone", "").strip(),
        slot_minutes=slot_minutes,
        meeting_url=meeting_url.strip() if meeting_url is not None else None,
        location=location.strip() if location is not None else None,
    )
    return "Your availability is saved."
