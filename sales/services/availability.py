"""A rep's own working hours and days off, which booking offers to prospects."""

import re
import zoneinfo
from datetime import date, time

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from sales.models import BlockedDate, RepProfile

_INTERVAL = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


class AvailabilityError(ValueError):
    """A clear message for the rep about what is wrong with the hours entered."""


def rep_profile_for(*, user: AbstractBaseUser) -> RepProfile:
    profile, _ = RepProfile.objects.get_or_create(user=user)
    return profile


def parse_day(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-17:00" → [["09:00", "12:00"], ["13:00", "17:00"]]; "" → day off."""
    intervals: list[list[str]] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        match = _INTERVAL.match(part)
        if not match:
            raise AvailabilityError(f"“{part}” is not a time range like 09:00-12:00.")
        try:
            start, end = (time.fromisoformat(value.zfill(5)) for value in match.groups())
        except ValueError:
            raise AvailabilityError(f"“{part}” has a time that does not exist.") from None
        if start >= end:
            raise AvailabilityError(f"In “{part}” the end must come after the start.")
        if intervals and start < time.fromisoformat(intervals[-1][1]):
            raise AvailabilityError(f"“{part}” overlaps or comes before the range before it.")
        intervals.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    return intervals


def update_availability(
    *,
    profile: RepProfile,
    days: dict[int, str],
    time_zone: str,
    slot_minutes: int,
    meeting_url: str | None = None,
) -> RepProfile:
    """`meeting_url` None keeps the saved link; "" clears it."""
    if meeting_url:
        try:
            # The model field's own rules (https only, length), which the admin applies too.
            RepProfile._meta.get_field("meeting_url").run_validators(meeting_url)
        except ValidationError:
            raise AvailabilityError(
                "The meeting link must be a full https:// address (500 characters at most)."
            ) from None
    if time_zone not in zoneinfo.available_timezones():
        raise AvailabilityError("Use a time zone name such as Europe/Paris.")
    if slot_minutes not in (15, 30, 45, 60):
        raise AvailabilityError("Meetings last 15, 30, 45 or 60 minutes.")
    weekly = {str(day): parse_day(text) for day, text in days.items()}
    profile.weekly_hours = {day: hours for day, hours in weekly.items() if hours}
    profile.time_zone, profile.slot_minutes = time_zone, slot_minutes
    if meeting_url is not None:
        profile.meeting_url = meeting_url
    profile.save(update_fields=["weekly_hours", "time_zone", "slot_minutes", "meeting_url"])
    return profile


def block_date(*, profile: RepProfile, day: date, reason: str = "") -> BlockedDate:
    with transaction.atomic():
        blocked, _ = BlockedDate.objects.get_or_create(
            rep=profile, date=day, defaults={"reason": reason[:200]}
        )
    return blocked


def unblock_date(*, profile: RepProfile, blocked_id: int) -> int:
    return BlockedDate.objects.filter(rep=profile, pk=blocked_id).delete()[0]
