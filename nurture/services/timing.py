"""A journey's clock: delays after the previous node and the next time an email may go.

Every computation is done on the lead's local wall clock and converted to UTC at the end,
so "1 day" after 10:00 is 10:00 the next local day across a DST change, and a delay is
never shorter than the marketer set (a spring-forward gap rounds forward, not back).
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadfunnel.zones import zone_or
from nurture.models import Sequence

UTC = ZoneInfo("UTC")
HOURS, DAYS, BUSINESS_DAYS = "hours", "days", "business_days"
UNITS = {HOURS: "hours", DAYS: "days", BUSINESS_DAYS: "business days"}
# The first version's "Day N" offsets, for sequences migrated to journeys: due on local day
# N-1 after enrollment at the enrollment's wall time (see scheduling.compute_due_at).
JOURNEY_DAY = "journey_day"
SATURDAY = 5
# How far ahead a send time is looked for before giving up on a window that never opens.
MAX_DAYS_AHEAD = 400


def add_delay(*, start: datetime, amount: int, unit: str, zone: ZoneInfo) -> datetime:
    """`start` plus `amount` hours, local days, or business days (Monday to Friday)."""
    if unit == HOURS:
        return start + timedelta(hours=amount)
    local = start.astimezone(zone)
    day = local.date()
    if unit == DAYS:
        day += timedelta(days=amount)
    elif unit == BUSINESS_DAYS:
        remaining = amount
        while remaining > 0:
            day += timedelta(days=1)
            if day.weekday() < SATURDAY:
                remaining -= 1
    else:
        raise ValueError(f"unknown delay unit {unit!r}")
    return _at_least(_local(day, local.time().replace(tzinfo=None), zone), start)


def next_send_time(
    *,
    earliest: datetime,
    zone: ZoneInfo,
    journey: Sequence,
    blocked: Callable[[date], bool] = lambda day: False,
) -> datetime:
    """The first moment at or after `earliest` inside the journey's window, on a local day
    that `blocked` does not refuse (a day this journey or the frequency cap already used).
    """
    local = earliest.astimezone(zone)
    day, wall = local.date(), local.time().replace(tzinfo=None)
    start, end = time(journey.window_start_hour), journey.window_end_hour
    allowed = set(journey.weekdays) or set(range(7))
    for _ in range(MAX_DAYS_AHEAD):
        if wall < start:
            wall = start
        open_today = end == 24 or wall < time(end)
        if open_today and day.weekday() in allowed and not blocked(day):
            return _at_least(_local(day, wall, zone), earliest)
        day, wall = day + timedelta(days=1), start
    return earliest


def zone_named(lead_zone_name: str, fallback: str) -> ZoneInfo:
    """The lead's zone, else the journey's fallback, else UTC."""
    return zone_or(lead_zone_name, fallback)


def zone_of(enrollment: object) -> ZoneInfo:
    return zone_named(enrollment.lead.time_zone or "", enrollment.sequence.fallback_time_zone)  # type: ignore[attr-defined]


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time inside a spring-forward gap does not exist: fold=0 then UTC round trip
    # lands after the gap.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _at_least(moment: datetime, floor: datetime) -> datetime:
    return moment if moment >= floor else floor
