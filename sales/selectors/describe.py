"""Activities in a rep's words: “clicked Day 5 “A client story””, “viewed /pricing”."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from capture.models import Activity, Lead
from nurture.models import Delivery, Step
from nurture.rendering import merge

_CUSTOM_EVENTS = {
    "automated_click": "link checked by a mail scanner",
    "booking_cancelled": "cancelled the consultation",
}


def lead_context(lead: Lead) -> dict[str, str]:
    """The merge fields a step subject may use, for showing it as the lead saw it."""
    return {
        "first_name": lead.first_name or "there",
        "last_name": lead.last_name,
        "full_name": lead.full_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "email": lead.email,
    }


def step_label(step: Step, *, lead: Lead) -> str:
    return f"Day {step.day} “{merge(step.subject, lead_context(lead), html=False)}”"


def delivery_ids(activities: list[Activity]) -> set[int]:
    ids = (_int(_metadata(a).get("delivery_id")) for a in activities)
    return {i for i in ids if i is not None}


def describe_activity(activity: Activity, *, lead: Lead, deliveries: Mapping[int, Delivery]) -> str:
    metadata = _metadata(activity)
    kind = activity.kind
    if kind in (Activity.Kind.EMAIL_OPENED, Activity.Kind.EMAIL_CLICKED):
        verb = "opened" if kind == Activity.Kind.EMAIL_OPENED else "clicked"
        delivery = deliveries.get(_int(metadata.get("delivery_id")) or 0)
        if delivery is not None:
            return f"{verb} {step_label(delivery.step, lead=lead)}"
        subject = str(metadata.get("step") or "")
        return (
            f"{verb} “{merge(subject, lead_context(lead), html=False)}”"
            if subject
            else (f"{verb} an email")
        )
    if kind == Activity.Kind.PAGE_VIEWED:
        return f"viewed {short_url(str(metadata.get('url') or '')) or 'a page'}"
    if kind == Activity.Kind.FORM_SUBMITTED:
        return f"submitted the form on {metadata.get('landing_page') or 'a landing page'}"
    if kind == Activity.Kind.BOOKING_MADE:
        return "booked a consultation"
    if kind == Activity.Kind.UNSUBSCRIBED:
        return "unsubscribed"
    if kind == Activity.Kind.EMAIL_BOUNCED:
        return "an email bounced"
    event = str(metadata.get("name") or metadata.get("event") or "")
    return _CUSTOM_EVENTS.get(event, event.replace("_", " ") or "custom event")


def short_url(url: str, *, limit: int = 60) -> str:
    parts = urlsplit(url)
    shown = (
        (parts.path or "/") + (f"?{parts.query}" if parts.query else "") if parts.netloc else url
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _metadata(activity: Activity) -> dict[str, Any]:
    return activity.metadata if isinstance(activity.metadata, dict) else {}


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
