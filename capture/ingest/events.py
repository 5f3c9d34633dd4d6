"""Validated events → activities to record: find each event's lead, shape its metadata."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import NewActivity, normalise_email
from capture.tracking import lead_uid_for_tracking_token

# A queued page view whose browser clock says it is older than this (or in the future) was
# stamped by a wrong clock: it is recorded at the time its beacon arrived instead.
BEACON_PAST = timedelta(days=1)
BEACON_FUTURE = timedelta(minutes=5)

Errors = dict[str, list[str]]


def activities_for_events(
    *, events: Sequence[Mapping[str, Any]], source: str = "api"
) -> tuple[list[NewActivity], list[Errors]]:
    """Each event as an activity, and per event its errors ({} when its lead was found).

    Leads are looked up with three queries for the whole batch, whatever its size.
    """
    uids = {
        index: lead_uid_for_tracking_token(event["tracking_token"])
        for index, event in enumerate(events)
        if "tracking_token" in event
    }
    ids = {event["lead"] for event in events if "lead" in event}
    emails = {normalise_email(event["email"]) for event in events if "email" in event}
    by_id = set(Lead.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_email = (
        dict(Lead.objects.filter(email__in=emails).values_list("email", "pk")) if emails else {}
    )
    found_uids = {uid for uid in uids.values() if uid is not None}
    by_uid = (
        dict(Lead.objects.filter(uid__in=found_uids).values_list("uid", "pk")) if found_uids else {}
    )

    now = timezone.now()
    activities: list[NewActivity] = []
    errors: list[Errors] = []
    for index, event in enumerate(events):
        lead_id: int | None
        if "lead" in event:
            lead_id = event["lead"] if event["lead"] in by_id else None
            problem = {"lead": ["No lead with this id."]}
        elif "email" in event:
            lead_id = by_email.get(normalise_email(event["email"]))
            problem = {"email": ["No lead with this email."]}
        else:
            uid = uids[index]
            lead_id = by_uid.get(uid) if uid is not None else None
            problem = {"tracking_token": ["This tracking token is not valid."]}
        errors.append({} if lead_id is not None else problem)
        if lead_id is not None:
            activities.append(
                NewActivity(
                    lead_id=lead_id,
                    kind=event["kind"],
                    occurred_at=event.get("occurred_at") or now,
                    metadata=_metadata(event, source=source),
                )
            )
    return activities, errors


def page_views_for_beacon(*, lead_id: int, views: Sequence[Mapping[str, Any]]) -> list[NewActivity]:
    now = timezone.now()
    return [
        NewActivity(
            lead_id=lead_id,
            kind=Activity.Kind.PAGE_VIEWED,
            occurred_at=beacon_time(view.get("at"), now=now),
            metadata=_metadata({**view, "kind": Activity.Kind.PAGE_VIEWED}, source="tracking"),
        )
        for view in views
    ]


def beacon_time(at: datetime | None, *, now: datetime) -> datetime:
    if at is None or not now - BEACON_PAST <= at <= now + BEACON_FUTURE:
        return now
    return min(at, now)


def _metadata(event: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    if event["kind"] == Activity.Kind.PAGE_VIEWED:
        metadata = {
            "url": event["url"],
            "title": event.get("title"),
            "referrer": event.get("referrer"),
        }
    else:
        metadata = {"name": event["name"], "properties": event.get("properties")}
    return {**{key: value for key, value in metadata.items() if value}, "source": source}
