"""Time-zone names, checked and turned into zones in one place.

Two rules, used everywhere a zone is read or written:
- what a person may type in (a form, the API, an import) is an IANA name from
  `zoneinfo.available_timezones()`: `is_time_zone`, `validate_time_zone`;
- what the code reads back (a lead's zone, a rep's, a journey's fallback) may be stale or
  empty, so it falls back, never raises: `zone_or`.
"""

from functools import cache, lru_cache
from typing import TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

UTC = ZoneInfo("UTC")
TIME_ZONE_HELP = "Use an IANA time zone name, such as Europe/Paris."


@cache
def time_zone_names() -> frozenset[str]:
    """Every IANA name this machine knows (read from disk once: a few hundred files)."""
    return frozenset(available_timezones())


def is_time_zone(name: object) -> TypeGuard[str]:
    return isinstance(name, str) and name in time_zone_names()


def validate_time_zone(name: str) -> str:
    """`name` when it is an IANA time zone, else a ValidationError with the one message
    every form and serializer shows (DRF turns Django's ValidationError into a 400)."""
    if not is_time_zone(name):
        raise ValidationError(TIME_ZONE_HELP, code="invalid_time_zone")
    return name


@lru_cache(maxsize=512)
def zone_or(*names: str | None, default: ZoneInfo = UTC) -> ZoneInfo:
    """The first of `names` that is a zone, else `default`: an empty or unknown name (a
    zone removed from tzdata, a typo in old data) is skipped, never an error. Cached: the
    tick asks once per lead, and most leads share a handful of zones."""
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return default
