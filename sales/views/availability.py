from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from leadfunnel.groups import SALES_REPS
from sales.services import availability as service

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@login_required
def availability(request: HttpRequest) -> HttpResponse:
    """A rep's weekly hours and days off, offered to prospects on the booking page."""
    user = request.user
    if not (user.is_superuser or user.groups.filter(name=SALES_REPS).exists()):
        raise PermissionDenied
    profile = service.rep_profile_for(user=user)
    error, status = "", 200
    if request.method == "POST":
        try:
            _apply(request, profile)
        except service.AvailabilityError as problem:
            error, status = str(problem), 400
        else:
            messages.success(request, "Your availability is saved.")
            return redirect("sales:availability")
    days = [
        (index, name, request.POST.get(f"day{index}") if error else ", ".join(
            f"{start}-{end}" for start, end in profile.weekly_hours.get(str(index), [])))
        for index, name in enumerate(WEEKDAYS)
    ]  # fmt: skip
    context = {"profile": profile, "days": days, "error": error,
               "blocked": profile.blocked_dates.filter(date__gte=timezone.localdate())}  # fmt: skip
    return render(request, "sales/availability.html", context, status=status)


def _apply(request: HttpRequest, profile: service.RepProfile) -> None:
    action = request.POST.get("action", "hours")
    if action == "block":
        try:
            day = date.fromisoformat(request.POST.get("date", ""))
        except ValueError:
            raise service.AvailabilityError("Choose the date to block.") from None
        service.block_date(profile=profile, day=day, reason=request.POST.get("reason", ""))
    elif action == "unblock":
        try:
            blocked_id = int(request.POST.get("blocked", ""))
        except ValueError:
            raise service.AvailabilityError("Choose the day to free.") from None
        service.unblock_date(profile=profile, blocked_id=blocked_id)
    else:
        try:
            slot_minutes = int(request.POST.get("slot_minutes", ""))
        except ValueError:
            raise service.AvailabilityError("Meetings last 15, 30, 45 or 60 minutes.") from None
        # A form without the field (an older page) keeps the saved link.
        meeting_url = request.POST.get("meeting_url")
        service.update_availability(
            profile=profile,
            days={index: request.POST.get(f"day{index}", "") for index in range(7)},
            time_zone=request.POST.get("time_zone", "").strip(),
            slot_minutes=slot_minutes,
            meeting_url=meeting_url.strip() if meeting_url is not None else None,
        )
