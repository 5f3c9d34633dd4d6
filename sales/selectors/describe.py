"""Activities in a rep's words: “clicked Day 5 “A client story””, “viewed /pricing”, and
where a lead came from: “Google Ads · spring-push”, not “?utm_source=google&utm_medium=cpc”."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from capture.models import Activity, Lead
from nurture.merge_text import merge_text
from nurture.models import Delivery, Step

_CUSTOM_EVENTS = {
    "automated_click": "link checked by a mail scanner",
    "booking_cancelled": "cancelled the consultation",
}


def step_label(step: Step, *, lead: Lead) -> str:
    """ "Day 3 “Hi Ada”" for a day list's email, "Pricing follow-up “Hi Ada”" for a journey's
    (it has no day: its node's name), the subject as the lead saw it. Read `step__node` with
    the step."""
    subject = merge_text(step.subject, lead=lead)
    # A journey's node is often named by its subject: said once.
    if step.label in (step.subject, subject):
        return f"“{subject}”"
    return f"{step.label} “{subject}”"


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
        return f"{verb} “{merge_text(subject, lead=lead)}”" if subject else (f"{verb} an email")
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


def short_url(url: str, *, limit: int = 60, with_host: bool = False) -> str:
    """A URL as a short label: its path ("/pricing"), never its query string (UTM tags and
    click ids are for `campaign_label`). `with_host` names the site too ("example.org/jobs"),
    for links that may lead elsewhere."""
    parts = urlsplit(url.strip())
    if not parts.netloc:
        shown = parts.path or url
    else:
        path = parts.path.rstrip("/") or "/"
        host = parts.hostname or ""
        host = host.removeprefix("www.")
        shown = (host + ("" if path == "/" else path)) if with_host else path
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# utm_source values as people name them; the medium says whether it was paid.
_SOURCES = {
    "google": "Google",
    "adwords": "Google",
    "bing": "Bing",
    "microsoft": "Bing",
    "facebook": "Facebook",
    "fb": "Facebook",
    "meta": "Meta",
    "instagram": "Instagram",
    "ig": "Instagram",
    "linkedin": "LinkedIn",
    "lnkd": "LinkedIn",
    "twitter": "X",
    "x": "X",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "reddit": "Reddit",
    "duckduckgo": "DuckDuckGo",
    "newsletter": "Newsletter",
    "email": "Email",
}
_PAID = {
    "cpc",
    "ppc",
    "paid",
    "paidsearch",
    "paid_search",
    "paid-search",
    "paidsocial",
    "paid_social",
    "paid-social",
    "display",
    "cpm",
    "banner",
    "ads",
    "ad",
}
_SEARCH_ENGINES = {"Google", "Bing", "DuckDuckGo"}


def campaign_label(*, source: str, medium: str = "", campaign: str = "") -> str:
    """UTM parameters as a person says them: google/cpc/spring-push → "Google Ads ·
    spring-push", newsletter/email → "Newsletter email", google/organic → "Google search"."""
    source, medium, campaign = source.strip(), medium.strip().lower(), campaign.strip()
    name = _SOURCES.get(source.lower(), source)
    if not name and medium:
        name = {"email": "Email", "social": "Social", "referral": "A referral"}.get(medium, medium)
    elif medium in _PAID:
        name = f"{name} Ads"
    elif medium == "email" and name not in ("Email",):
        name = f"{name} email"
    elif medium == "organic" and name in _SEARCH_ENGINES:
        name = f"{name} search"
    return " · ".join(part for part in (name, campaign) if part)


def url_campaign_label(url: str) -> str:
    """`campaign_label` of the UTM parameters in a URL's query ("" when it has none)."""
    query = parse_qs(urlsplit(url).query)

    def first(name: str) -> str:
        return (query.get(name) or [""])[0][:100]

    if not any(first(name) for name in ("utm_source", "utm_medium", "utm_campaign")):
        return ""
    return campaign_label(
        source=first("utm_source"), medium=first("utm_medium"), campaign=first("utm_campaign")
    )


def _metadata(activity: Activity) -> dict[str, Any]:
    return activity.metadata if isinstance(activity.metadata, dict) else {}


def _int(value: object) -> int | None:
    if not isinstance(value, str | int | float):
        return None  # JSON's null, lists and objects, which int() refuses
    try:
        return int(value)
    except ValueError:
        return None
