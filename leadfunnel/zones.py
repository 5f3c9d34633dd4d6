"""Time-zone names, checked and turned into zones in one place.

Two rules, used everywhere a zone is read or written (and, for reading a phone number
written without its country code, the country a zone is in: `time_zone_country`):
- what a person may type in (a form, the API, an import) is an IANA name from
  `zoneinfo.available_timezones()`: `is_time_zone`, `validate_time_zone`;
- what the code reads back (a lead's zone, a rep's, a journey's fallback) may be stale or
  empty, so it falls back, never raises: `zone_or`.
"""

from functools import cache, lru_cache
from importlib import resources
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


@cache
def _zone_countries() -> dict[str, str]:
    """IANA zone name -> the ISO country it is a zone of, from the tzdata package (in the
    lock; Python's zoneinfo and phonenumbers have no such map).

    zone.tab names one country per zone. An old name browsers still report (Chrome's
    Asia/Calcutta, Europe/Kiev) is only a link in tzdata.zi, to a zone that may serve
    other countries too (Iceland and Africa/Timbuktu link to Africa/Abidjan, the zone of a
    dozen countries): a link names a country only when zone1970.tab gives its zone one.
    """
    data = resources.files("tzdata") / "zoneinfo"
    countries: dict[str, str] = {}
    for line in (data / "zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone = line.split("\t")[:3]
            countries[zone] = code
    only_country: dict[str, str] = {}
    for line in (data / "zone1970.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            codes, _coordinates, zone = line.split("\t")[:3]
            if "," not in codes:
                only_country[zone] = codes
    for line in (data / "tzdata.zi").read_text(encoding="utf-8").splitlines():
        if line.startswith("L "):
            _, target, name = line.split()
            if name not in countries and target in only_country:
                countries[name] = only_country[target]
    return countries


def time_zone_country(time_zone: str) -> str:
    """The country (ISO code) a browser in `time_zone` is in, or "" when the zone does not
    name one (UTC, an unknown name, a zone several countries share)."""
    return _zone_countries().get(time_zone, "")
