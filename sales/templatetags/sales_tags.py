from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def short_duration(value: timedelta | None) -> str:
    """4 min, 2 h 5 min, 3 d 4 h; “—” for none."""
    if value is None:
        return "—"
    seconds = max(0, round(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@register.filter
def money(value: object, currency: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.2f} {currency}".strip()


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


@register.filter
def tel_href(phone: str | None) -> str:
    """A `tel:` link's target: the digits and a leading +, as RFC 3966 dials them ("" for none)."""
    text = (phone or "").strip()
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if not digits:
        return ""
    return "tel:" + ("+" if text.startswith("+") else "") + digits
