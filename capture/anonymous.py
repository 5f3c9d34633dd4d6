"""Anonymous-visitor history: page views kept under track.js's visitor id until the visitor
becomes a lead, then joined to that lead's timeline (and so its score).

The visitor id is 32 random hex characters made by the browser (`crypto.getRandomValues`) and
kept in the first-party `lf_vid` cookie; track.js makes none under Do Not Track, Global
Privacy Control, or before consent where the page asks for it. It names a browser, not a
person: the rows hold the URL, title, referrer and time, nothing typed and no address.

Bounded both ways: a visitor id holds at most TRACKING_ANONYMOUS_MAX_EVENTS rows (further
views are dropped, so nobody can grow the table without limit through one id) and rows not
joined within TRACKING_ANONYMOUS_DAYS are deleted by a beat task.

What a forged visitor id allows: anyone can report views under an id they made up, and join
them to a lead only by then submitting a form as that lead (which they could do anyway) or
holding that lead's signed tracking token or email link; at most the bounded number of views.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from capture.ingest.events import beacon_time
from capture.models import Activity, AnonymousView, Lead
from capture.services import NewActivity, record_activities

COOKIE_NAME = "lf_vid"
_VISITOR = re.compile(r"[0-9a-f]{32}")


def valid_visitor(value: object) -> str:
    """The visitor id if it has the shape track.js makes, else ""."""
    return value if isinstance(value, str) and _VISITOR.fullmatch(value) else ""


def record_anonymous(*, visitor: str, views: Sequence[Mapping[str, Any]]) -> int:
    """Keep a beacon's page views under `visitor`, up to the per-visitor cap; returns how
    many were kept. The count and the insert share a transaction-level advisory lock on the
    visitor, so two beacons at once cannot both fill the last places."""
    if not views:
        return 0
    cap = settings.TRACKING_ANONYMOUS_MAX_EVENTS
    now = timezone.now()
    with transaction.atomic():
        _lock(visitor)
        room = cap - AnonymousView.objects.filter(visitor=visitor).count()
        if room <= 0:
            return 0
        rows = [
            AnonymousView(
                visitor=visitor,
                occurred_at=beacon_time(view.get("at"), now=now),
                url=view["url"][:2000],
                title=(view.get("title") or "")[:300],
                referrer=(view.get("referrer") or "")[:2000],
            )
            for view in list(views)[:room]
        ]
        AnonymousView.objects.bulk_create(rows)
    return len(rows)


def join_visitor(*, visitor: str, lead_id: int, via: str) -> int:
    """Move `visitor`'s anonymous views onto the lead as page-view activities (their own
    times; `activity_recorded` once on commit, so the lead is rescored with them) and delete
    them; returns how many. Safe to call again: a second call finds nothing."""
    visitor = valid_visitor(visitor)
    if not visitor:
        return 0
    with transaction.atomic():
        _lock(visitor)
        views = list(
            AnonymousView.objects.select_for_update()
            .filter(visitor=visitor)
            .order_by("occurred_at", "pk")
        )
        if not views:
            return 0
        record_activities(
            activities=[
                NewActivity(
                    lead_id=lead_id,
                    kind=Activity.Kind.PAGE_VIEWED,
                    occurred_at=view.occurred_at,
                    metadata={
                        key: value
                        for key, value in (
                            ("url", view.url),
                            ("title", view.title),
                            ("referrer", view.referrer),
                        )
                        if value
                    }
                    | {"source": "tracking", "before_known": True, "joined_by": via},
                )
                for view in views
            ]
        )
        AnonymousView.objects.filter(pk__in=[view.pk for view in views]).delete()
    return len(views)


def join_visitor_to_lead_uid(*, visitor: str, lead_uid: Any, via: str) -> int:
    """`join_visitor` for a lead named by its public uid (an emailed link's token)."""
    if not valid_visitor(visitor):
        return 0
    lead_id = Lead.objects.filter(uid=lead_uid).values_list("pk", flat=True).first()
    return 0 if lead_id is None else join_visitor(visitor=visitor, lead_id=lead_id, via=via)


def expire_anonymous(*, now: Any = None) -> int:
    """Delete anonymous views older than TRACKING_ANONYMOUS_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRACKING_ANONYMOUS_DAYS)
    deleted, _ = AnonymousView.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _lock(visitor: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["lf_vid:" + visitor])
