"""Conditions on a lead, as branches, goals and wait-untils state them, compiled to SQL.

A condition is a small dict a marketer builds in the admin, e.g.
`{"field": "temperature", "op": "is", "value": "hot"}` or
`{"field": "visited", "url": "*/pricing*", "within_days": 7}`. `as_q` turns it into a `Q`
on Lead (activity and email conditions become EXISTS subqueries), so a batch of leads is
split in one query per condition, never lead by lead in Python.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from capture.models import Activity, Lead
from nurture.models import Delivery

# Lead columns a condition may compare (text unless listed in NUMBERS).
LEAD_FIELDS = {
    "temperature": "temperature",
    "score": "score",
    "stage": "stage",
    "source": "source",
    "campaign": "campaign_id",
    "company": "company",
    "company_size": "company_size",
    "industry": "industry",
    "job_title": "job_title",
    "country": "country",
    "email": "email",
}
NUMBERS = {"score", "campaign"}
TEXT_OPS = {"is": "exact", "is_not": "exact", "contains": "icontains", "in": "in"}
NUMBER_OPS = {"is": "exact", "is_not": "exact", "at_least": "gte", "at_most": "lte"}
EVENT_FIELDS = {"opened", "clicked", "not_opened", "not_clicked", "visited", "booked"}
FIELD_LABELS = {
    "temperature": "temperature",
    "score": "score",
    "stage": "stage",
    "owner_set": "has an owner",
    "answer": "answer",
    "opened": "opened",
    "clicked": "clicked",
    "not_opened": "did not open",
    "not_clicked": "did not click",
    "visited": "visited",
    "booked": "booked",
}


def as_q(condition: Mapping[str, Any], *, since: datetime | None = None, now: datetime) -> Q:
    """A Q on Lead that holds for the leads meeting `condition`.

    `since` bounds event conditions (a wait-until counts only events after the lead
    arrived); `within_days` bounds them relative to `now`.
    """
    field = condition.get("field", "")
    op = condition.get("op", "is")
    value = condition.get("value")
    if field == "owner_set":
        return Q(owner__isnull=not _truthy(value))
    if field == "answer":
        key = str(condition.get("key", ""))
        lookup = TEXT_OPS.get(op, "exact")
        q = Q(**{f"answers__{key}__{lookup}": value})
        return ~q if op == "is_not" else q
    if field in EVENT_FIELDS:
        return _event_q(condition, since=since, now=now)
    column = LEAD_FIELDS.get(field)
    if column is None:
        raise ValidationError(f"Unknown condition field {field!r}.")
    ops = NUMBER_OPS if field in NUMBERS else TEXT_OPS
    lookup = ops.get(op)
    if lookup is None:
        raise ValidationError(f"“{op}” does not apply to {field}.")
    if field == "campaign" and value in ("", None):
        return Q(campaign__isnull=op == "is")
    q = Q(**{f"{column}__{lookup}": value})
    return ~q if op == "is_not" else q


def matching(
    *,
    lead_ids: Iterable[int],
    condition: Mapping[str, Any],
    now: datetime,
    since: datetime | None = None,
) -> set[int]:
    ids = list(lead_ids)
    if not ids:
        return set()
    q = as_q(condition, since=since, now=now)
    return set(Lead.objects.filter(q, pk__in=ids).values_list("pk", flat=True))


def validate(condition: Mapping[str, Any]) -> None:
    """Refuse a condition the engine could not evaluate (with a message for the form)."""
    if not isinstance(condition, Mapping):
        raise ValidationError("A condition must be an object.")
    field = condition.get("field")
    if (
        field not in LEAD_FIELDS
        and field not in EVENT_FIELDS
        and field not in {"owner_set", "answer"}
    ):
        raise ValidationError(f"Unknown condition field {field!r}.")
    if field == "answer" and not condition.get("key"):
        raise ValidationError("Say which question's answer to compare.")
    if field == "visited" and not condition.get("url"):
        raise ValidationError("Give the page (a URL or a pattern such as */pricing*).")
    if field in LEAD_FIELDS:
        ops = NUMBER_OPS if field in NUMBERS else TEXT_OPS
        if condition.get("op", "is") not in ops:
            raise ValidationError(f"“{condition.get('op')}” does not apply to {field}.")
        if field == "score":
            try:
                int(condition.get("value"))
            except (TypeError, ValueError):
                raise ValidationError("A score is a whole number.") from None
    within = condition.get("within_days")
    if within not in (None, ""):
        try:
            if int(within) < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError("“Within days” is a whole number of days, 1 or more.") from None


def describe(condition: Mapping[str, Any], *, node_names: Mapping[int, str] | None = None) -> str:
    """ "temperature is hot", "clicked “Day 2”", "visited */pricing* in 7 days"."""
    field = condition.get("field", "")
    label = FIELD_LABELS.get(field, field.replace("_", " "))
    if field == "owner_set":
        return "has an owner" if _truthy(condition.get("value")) else "has no owner"
    if field in {"opened", "clicked", "not_opened", "not_clicked"}:
        node = condition.get("node")
        name = (node_names or {}).get(int(node), "an email") if node else "any email"
        return f"{label} “{name}”" if node else f"{label} {name}"
    if field == "visited":
        window = f" in {condition['within_days']} days" if condition.get("within_days") else ""
        return f"visited {condition.get('url')}{window}"
    if field == "booked":
        return "booked a consultation"
    if field == "answer":
        op = condition.get("op", "is").replace("_", " ")
        return f"answer to {condition.get('key')} {op} {condition.get('value')}"
    op = condition.get("op", "is").replace("_", " ")
    return f"{label} {op} {condition.get('value')}"


def url_regex(pattern: str) -> str:
    """A marketer's URL pattern (`*` for anything) as a case-insensitive regex; a pattern
    without `*` matches URLs that contain it."""
    pattern = pattern.strip()
    if "*" not in pattern:
        pattern = f"*{pattern}*"
    # Written for both PostgreSQL's ~* and Python's re: only ^, $, .* and escaped literals.
    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


def _event_q(condition: Mapping[str, Any], *, since: datetime | None, now: datetime) -> Q:
    field = condition["field"]
    after = since
    if condition.get("within_days"):
        window_start = now - timedelta(days=int(condition["within_days"]))
        after = max(after, window_start) if after else window_start
    if field in {"opened", "clicked", "not_opened", "not_clicked"}:
        column = "opened_at" if field.endswith("opened") else "clicked_at"
        emails = Delivery.objects.filter(
            enrollment__lead=OuterRef("pk"), **{f"{column}__isnull": False}
        )
        if condition.get("node"):
            emails = emails.filter(node_id=int(condition["node"]))
        if after is not None:
            emails = emails.filter(**{f"{column}__gte": after})
        exists = Q(Exists(emails))
        return ~exists if field.startswith("not_") else exists
    if field == "visited":
        views = Activity.objects.filter(
            lead=OuterRef("pk"),
            kind=Activity.Kind.PAGE_VIEWED,
            metadata__url__iregex=url_regex(str(condition.get("url", ""))),
        )
        if after is not None:
            views = views.filter(occurred_at__gte=after)
        return Q(Exists(views))
    # booked
    bookings = Activity.objects.filter(lead=OuterRef("pk"), kind=Activity.Kind.BOOKING_MADE)
    if after is not None:
        bookings = bookings.filter(occurred_at__gte=after)
    return Q(Exists(bookings))


def _truthy(value: Any) -> bool:
    return value not in (False, None, "", "0", "false", "no", 0)
