"""The Jinja2 environment for the few templates on a hot path (the dashboard's rows, a
lead's timeline).

Django's template engine resolves every variable through its lookup machinery, about 0.9 ms
a row here; Jinja2 compiles the template to Python. Autoescaping stays on (Django's Jinja2
backend turns it on). The two filters are plain-English stand-ins for Django's `timesince`
and `date`, which go through the translation machinery on every call (half the rows' time):
`ago` gives the same words ("3\xa0hours, 5\xa0minutes"), counting a month as 30 days and a
year as 365; `local` formats in the viewer's current time zone, as `date` does.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone
from jinja2 import Environment

_UNITS = (
    (365 * 24 * 3600, "year"),
    (30 * 24 * 3600, "month"),
    (7 * 24 * 3600, "week"),
    (24 * 3600, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def ago(value: datetime | None, now: datetime | None = None, depth: int = 2) -> str:
    """How long ago `value` was, in at most `depth` adjacent units: "2\xa0days, 3\xa0hours"."""
    if value is None:
        return ""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    if seconds < 60:
        return "0\xa0minutes"
    parts: list[str] = []
    for index, (size, name) in enumerate(_UNITS):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}\xa0{name}{'' if count == 1 else 's'}")
            for next_size, next_name in _UNITS[index + 1 : index + depth]:
                count = seconds // next_size
                if not count:
                    break
                parts.append(f"{count}\xa0{next_name}{'' if count == 1 else 's'}")
                seconds -= count * next_size
            break
    return ", ".join(parts)


def local(value: datetime | None, style: str = "iso") -> str:
    """`iso`: ISO 8601 (Django's "c"); `short`: "Sat 28 Nov 14:05" (Django's "D j M H:i");
    `long`: "Sat 28 Nov 2026 14:05" (Django's "D j M Y H:i")."""
    if value is None:
        return ""
    moment = timezone.localtime(value)
    if style == "iso":
        return moment.isoformat()
    if style == "long":
        return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M}"
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 - Django's backend passes autoescape=True
    env.filters.update(ago=ago, local=local)
    return env
