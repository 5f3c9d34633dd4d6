"""A rep's own working hours and days off, which booking offers to prospects."""

from datetime import date, time
from itertools import pairwise

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from leadfunnel.zones import is_time_zone
from sales.models import BlockedDate, RepProfile

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class AvailabilityError(ValueError):
    """A clear message for the rep about what is wrong with the hours entered."""


def rep_profile_for(*, user: User) -> RepProfile:
    profile, _ = RepProfile.objects.get_or_create(user=user)
    return profile


def check_day(*, weekday: int, ranges: list[tuple[str, str]]) -> list[list[str]]:
    """One weekday's ranges as the picker sends them → [["09:00", "12:00"], …], sorted.

    A row left empty is ignored; a half-filled, reversed or overlapping one is refused with
    the weekday and the times named. No ranges at all is a day off.
    """
    name = WEEKDAYS[weekday]
    parsed: list[tuple[time, time]] = []
    for start_text, end_text in ranges:
        start_text, end_text = start_text.strip(), end_text.strip()
        if not start_text and not end_text:
            continue
        if not start_text or not end_text:
            raise AvailabilityError(f"{name}: give each range a start and an end time.")
        try:
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        except ValueError:
            raise AvailabilityError(
                f"{name}: “{start_text}–{end_text}” is not a time range like 09:00–12:00."
            ) from None
        if start.second or end.second or start.microsecond or end.microsecond:
            raise AvailabilityError(f"{name}: use whole minutes, like 09:30.")
        if start >= end:
            raise AvailabilityError(
                f"{name}: {_hm(start)}–{_hm(end)} must end after it starts"
                " (hours past midnight go on the next day)."
            )
        parsed.append((start, end))
    parsed.sort()
    for (start_a, end_a), (start_b, end_b) in pairwise(parsed):
        if start_b < end_a:
            raise AvailabilityError(
                f"{name}: {_hm(start_a)}–{_hm(end_a)} and {_hm(start_b)}–{_hm(end_b)} overlap."
            )
    return [[_hm(start), _hm(end)] for start, end in parsed]


def _hm(moment: time) -> str:
    return moment.strftime("%H:%M")


def update_availability(
    *,
    profile: RepProfile,
    days: dict[int, list[tuple[str, str]]],
    time_zone: str,
    slot_minutes: int,
    meeting_url: str | None = None,
    location: str | None = None,
) -> RepProfile:
    """`days`: weekday (0 = Monday) → (start, end) pairs. `meeting_url` and `location`
    None keep what is saved; "" clears it."""
    if meeting_url:
        try:
            # The model field's own rules (https only, length), which the admin applies too.
            RepProfile._meta.get_field("meeting_url").run_validators(meeting_url)
        except ValidationError:
            raise AvailabilityError(
                "The meeting link must be a full https:// address (500 characters at most)."
            ) from None
    if not is_time_zone(time_zone):
        raise AvailabilityError("Use a time zone name such as Europe/Paris.")
    if slot_minutes not in (15, 30, 45, 60):
        raise AvailabilityError("Meetings last 15, 30, 45 or 60 minutes.")
    if location is not None and len(location) > 200:
        raise AvailabilityError("Keep the place under 200 characters.")
    weekly = {str(day): check_day(weekday=day, ranges=ranges) for day, ranges in days.items()}
    profile.weekly_hours = {day: hours for day, hours in weekly.items() if hours}
    profile.time_zone, profile.slot_minutes = time_zone, slot_minutes
    if meeting_url is not None:
        profile.meeting_url = meeting_url
    if location is not None:
        profile.location = location
    profile.save(
        update_fields=["weekly_hours", "time_zone", "slot_minutes", "meeting_url", "location"]
    )
    return profile


def block_date(*, profile: RepProfile, day: date, reason: str = "") -> BlockedDate:
    with transaction.atomic():
        blocked, _ = BlockedDate.objects.get_or_create(
            rep=profile, date=day, defaults={"reason": reason[:200]}
        )
    return blocked


def unblock_date(*, profile: RepProfile, blocked_id: int) -> int:
    return BlockedDate.objects.filter(rep=profile, pk=blocked_id).delete()[0]
