"""Conditions on a lead, as branches, goals and wait-untils state them, compiled to SQL.

A condition is a small dict a marketer builds in the admin, e.g.
`{"field": "temperature", "op": "is", "value": "hot"}` or
`{"field": "visited", "url": "*/pricing*", "within_days": 7}`. `as_q` turns it into a `Q`
on Lead (activity and email conditions become EXISTS subqueries), so a batch of leads is
split in one query per condition, never lead by lead in Python.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual
from django.utils.dateparse import parse_date, parse_datetime

from capture.models import Activity, Lead, Submission
from nurture.models import Delivery, Enrollment

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
    "first_name": "first_name",
    "last_name": "last_name",
    "phone": "phone",
    "time_zone": "time_zone",
    "owner": "owner_id",
}
NUMBERS = {"score", "campaign", "owner"}
TEXT_OPS = {"is": "exact", "is_not": "exact", "contains": "icontains", "in": "in"}
NUMBER_OPS = {"is": "exact", "is_not": "exact", "at_least": "gte", "at_most": "lte"}
# Text columns are NOT NULL with "" for unknown: "is set" / "is empty" compare with "".
PRESENCE_OPS = {"is_set", "is_empty"}
CHOICES = {
    "temperature": Lead.Temperature.values,
    "stage": Lead.Stage.values,
    "company_size": Lead.CompanySize.values,
}
EVENT_FIELDS = {"opened", "clicked", "not_opened", "not_clicked", "visited", "booked"}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
DATE_FIELDS = {"created_at": "created_at", "last_activity_at": "last_activity_at"}
# Absolute ("on or after 2026-01-01", midnight UTC) or relative to now, in days.
DATE_OPS = {"on_or_after", "before", "in_last_days", "not_in_last_days"}
COUNT_OPS = {"at_least": "gte", "at_most": "lte", "exactly": "exact"}
JOURNEY_STATES = ("in", "completed", "converted", "exited", "entered", "never_entered")
# Fields a segment (and a branch) may also use; `register` adds more (segments, topics).
MORE_FIELDS = {"utm", "activity", "journey", "consent", "sms_consent", "form", *DATE_FIELDS}
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
    "utm": "UTM",
    "activity": "activity",
    "journey": "journey",
    "consent": "email consent",
    "sms_consent": "SMS consent",
    "form": "submitted a form",
    "created_at": "created",
    "last_activity_at": "last activity",
}


@dataclass(frozen=True)
class ExtraField:
    """A condition field another app adds (segments' "is in segment S"; later, subscription
    topics): it compiles, validates and describes its own conditions, so nurture needs no
    import of the app that owns the data."""

    label: str
    as_q: Callable[[Mapping[str, Any], datetime], Q]
    validate: Callable[[Mapping[str, Any]], None]
    describe: Callable[[Mapping[str, Any]], str]
    # (value, label) pairs for forms that offer this field (the journey map's branch form).
    choices: Callable[[], list[tuple[str, str]]] = lambda: []


EXTRA_FIELDS: dict[str, ExtraField] = {}


def register(field: str, extra: ExtraField) -> None:
    """Called from an app's AppConfig.ready(); registering twice (autoreload) replaces."""
    EXTRA_FIELDS[field] = extra


def as_q(
    condition: Mapping[str, Any],
    *,
    since: datetime | None = None,
    now: datetime,
    whole_table: bool = False,
) -> Q:
    """A Q on Lead that holds for the leads meeting `condition`.

    `since` bounds event conditions (a wait-until counts only events after the lead
    arrived); `within_days` bounds them relative to `now`. `whole_table`: the query will
    run over every lead (a segment's count or refresh), not a few ids, so an activity
    count is better one grouped pass over the window than a probe per lead.
    """
    field = condition.get("field", "")
    op = condition.get("op", "is")
    value = condition.get("value")
    if field in EXTRA_FIELDS:
        return EXTRA_FIELDS[field].as_q(condition, now)
    if field == "owner_set":
        return Q(owner__isnull=not _truthy(value))
    if field == "answer":
        key = str(condition.get("key", ""))
        if op in PRESENCE_OPS:
            q = Q(answers__has_key=key) & ~Q(**{f"answers__{key}": ""})
            return q if op == "is_set" else ~q
        lookup = TEXT_OPS.get(op, "exact")
        # has_key first: a missing key makes the comparison NULL, and NOT NULL is NULL, so
        # without it a lead that never answered would be neither "is" nor "is not" (nor in
        # a segment's NONE group). FALSE AND NULL is FALSE.
        q = Q(answers__has_key=key) & Q(**{f"answers__{key}__{lookup}": value})
        return ~q if op == "is_not" else q
    if field in EVENT_FIELDS:
        return _event_q(condition, since=since, now=now)
    if field in MORE_FIELDS:
        return _more_q(condition, now=now, whole_table=whole_table)
    column = LEAD_FIELDS.get(field)
    if column is None:
        raise ValidationError(f"Unknown condition field {field!r}.")
    if op in PRESENCE_OPS and field not in NUMBERS:
        return Q(**{column: ""}) if op == "is_empty" else ~Q(**{column: ""})
    if field == "owner" and value in ("", None):
        return Q(owner__isnull=op == "is")
    ops = NUMBER_OPS if field in NUMBERS else TEXT_OPS
    field_lookup = ops.get(op)
    if field_lookup is None:
        raise ValidationError(f"“{op}” does not apply to {field}.")
    if field == "campaign" and value in ("", None):
        return Q(campaign__isnull=op == "is")
    q = Q(**{f"{column}__{field_lookup}": value})
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
    if not isinstance(field, str) or not isinstance(condition.get("op", "is"), str):
        raise ValidationError("A condition names its field and comparison as texts.")
    if field in EXTRA_FIELDS:
        EXTRA_FIELDS[field].validate(condition)
        return
    if (
        field not in LEAD_FIELDS
        and field not in EVENT_FIELDS
        and field not in MORE_FIELDS
        and field not in {"owner_set", "answer"}
    ):
        raise ValidationError(f"Unknown condition field {field!r}.")
    op = condition.get("op", "is")
    if field == "answer":
        key = condition.get("key")
        # "__" would read as a nested key or a lookup in the ORM's path.
        if not key or not isinstance(key, str) or "__" in key or len(key) > 100:
            raise ValidationError("Say which question's answer to compare.")
        if op not in TEXT_OPS and op not in PRESENCE_OPS:
            raise ValidationError(f"“{op}” does not apply to an answer.")
        _validate_text_value(condition, label="The answer")
    if field == "visited" and not condition.get("url"):
        raise ValidationError("Give the page (a URL or a pattern such as */pricing*).")
    if field in LEAD_FIELDS:
        ops = NUMBER_OPS if field in NUMBERS else {**TEXT_OPS, **dict.fromkeys(PRESENCE_OPS)}
        if op not in ops:
            raise ValidationError(f"“{condition.get('op')}” does not apply to {field}.")
        if field in NUMBERS:
            value = condition.get("value")
            optional = field != "score" and op in ("is", "is_not") and value in ("", None)
            if not optional and (isinstance(value, bool) or not _is_int(value)):
                what = "A score" if field == "score" else f"The {field} id"
                raise ValidationError(f"{what} is a whole number.")
        elif op not in PRESENCE_OPS:
            _validate_text_value(condition, label=f"The {field.replace('_', ' ')}")
            _validate_choice(field, condition)
    if field in MORE_FIELDS:
        _validate_more(condition)
    within = condition.get("within_days")
    if within not in (None, "") and not _is_days(within):
        raise ValidationError(f"“Within days” is a whole number of days, 1 to {MAX_DAYS}.")


def describe(condition: Mapping[str, Any], *, node_names: Mapping[int, str] | None = None) -> str:
    """ "temperature is hot", "clicked “Day 2”", "visited */pricing* in 7 days"."""
    field = condition.get("field", "")
    if field in EXTRA_FIELDS:
        return EXTRA_FIELDS[field].describe(condition)
    if field in MORE_FIELDS:
        return _describe_more(condition)
    label = FIELD_LABELS.get(field, field.replace("_", " "))
    if field == "owner_set":
        return "has an owner" if _truthy(condition.get("value")) else "has no owner"
    if field in {"opened", "clicked", "not_opened", "not_clicked"}:
        node = condition.get("node")
        names = node_names if node_names is not None else {}  # not `or`: a lookup may be empty
        name = names.get(int(node), "an email") if node else "any email"
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


# -- the fields segments brought: UTM, forms, dates, activity counts, journeys, consent ------


def _more_q(condition: Mapping[str, Any], *, now: datetime, whole_table: bool) -> Q:
    field = condition["field"]
    op = condition.get("op", "is")
    value: Any = condition.get("value")
    if field == "utm":
        column = str(condition.get("key"))
        submissions = Submission.objects.filter(lead=OuterRef("pk"))
        if op in PRESENCE_OPS:
            filled = Q(Exists(submissions.exclude(**{column: ""})))
            return filled if op == "is_set" else ~filled
        lookup = TEXT_OPS[op]
        found = Q(Exists(submissions.filter(**{f"{column}__{lookup}": value})))
        # "utm_medium is not cpc": no submission of the lead came with cpc.
        return ~found if op == "is_not" else found
    if field == "form":
        submissions = Submission.objects.filter(lead=OuterRef("pk"))
        if condition.get("page"):
            submissions = submissions.filter(landing_page_id=int(condition["page"]))
        if condition.get("within_days"):
            since = now - timedelta(days=int(condition["within_days"]))
            submissions = submissions.filter(created_at__gte=since)
        return Q(Exists(submissions))
    if field in DATE_FIELDS:
        column = DATE_FIELDS[field]
        if op in ("in_last_days", "not_in_last_days"):
            since = now - timedelta(days=int(value))
            return (
                Q(**{f"{column}__gte": since})
                if op == "in_last_days"
                else Q(**{f"{column}__lt": since})
            )
        when = parse_when(value)
        return (
            Q(**{f"{column}__gte": when}) if op == "on_or_after" else Q(**{f"{column}__lt": when})
        )
    if field in ("consent", "sms_consent"):
        column = "consent_given_at" if field == "consent" else "sms_consent_given_at"
        return Q(**{f"{column}__isnull": not _truthy(value)})
    if field == "activity":
        return _activity_q(condition, now=now, whole_table=whole_table)
    # journey
    enrollments = Enrollment.objects.filter(lead=OuterRef("pk"))
    if condition.get("journey"):
        enrollments = enrollments.filter(sequence_id=int(condition["journey"]))
    state = condition.get("state", "in")
    if state == "in":
        enrollments = enrollments.filter(
            state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED]
        )
    elif state == "completed":
        enrollments = enrollments.filter(state=Enrollment.State.COMPLETED)
    elif state == "converted":
        enrollments = enrollments.filter(converted_at__isnull=False)
    elif state == "exited":
        enrollments = enrollments.filter(state=Enrollment.State.EXITED)
        if condition.get("reason"):
            enrollments = enrollments.filter(exit_reason=condition["reason"])
    exists = Q(Exists(enrollments))
    return ~exists if state == "never_entered" else exists


def activity_filter(condition: Mapping[str, Any], *, now: datetime) -> Q:
    """The activities an "activity" condition counts (shared with the segments' tests)."""
    q = Q(kind=condition.get("kind"))
    if condition.get("url"):
        # A page view keeps its page in `url`, a click its target in `link`.
        key = "link" if condition.get("kind") == Activity.Kind.EMAIL_CLICKED else "url"
        q &= Q(**{f"metadata__{key}__iregex": url_regex(str(condition["url"]))})
    if condition.get("name"):
        name = str(condition["name"]).strip()
        q &= Q(metadata__name__iexact=name) | Q(metadata__event__iexact=name)
    if condition.get("within_days"):
        q &= Q(occurred_at__gte=now - timedelta(days=int(condition["within_days"])))
    return q


def _activity_q(condition: Mapping[str, Any], *, now: datetime, whole_table: bool) -> Q:
    """ "viewed */pricing* at least 2 times in 14 days", "opened no email in 30 days"."""
    activities = Activity.objects.filter(activity_filter(condition, now=now), lead=OuterRef("pk"))
    op = condition.get("op", "at_least")
    count = int(condition.get("count", 1))
    # EXISTS where the count is only "some" or "none": the planner stops at the first row.
    if op == "at_least" and count <= 1:
        return Q(Exists(activities)) if count == 1 else Q()
    if op in ("at_most", "exactly") and count == 0:
        return ~Q(Exists(activities))
    if whole_table and op in ("at_least", "exactly"):
        # Over every lead a correlated COUNT is one index probe per lead (measured 6 s at
        # 1M leads); `id IN (… GROUP BY lead_id HAVING …)` is one pass over the window,
        # hashed (2.5 s). lead_id is NOT NULL, so IN is never NULL under a NONE group.
        # "at most" keeps the probe: it must count the leads with none too.
        having = {"at_least": "n__gte", "exactly": "n"}[op]
        grouped = (
            Activity.objects.filter(activity_filter(condition, now=now))
            .order_by()
            .values("lead_id")
            .annotate(n=Count("pk"))
            .filter(**{having: count})
            .values("lead_id")
        )
        return Q(pk__in=grouped)
    counted = Coalesce(
        Subquery(
            activities.order_by().values("lead").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField(),
        ),
        0,
    )
    lookup = {"at_least": GreaterThanOrEqual, "at_most": LessThanOrEqual, "exactly": Exact}[op]
    return Q(lookup(counted, count))


def parse_when(value: Any) -> datetime:
    """A date ("2026-01-01", midnight UTC) or an ISO datetime (naive means UTC)."""
    text = str(value or "").strip()
    try:
        moment = parse_datetime(text) if "T" in text or " " in text else None
        day = parse_date(text) if moment is None else None
    except ValueError:  # well-formed but impossible, 2026-02-30
        moment = day = None
    if moment is None:
        if day is None:
            raise ValidationError(f"“{text[:40]}” is not a date (YYYY-MM-DD).")
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _validate_more(condition: Mapping[str, Any]) -> None:
    field = condition["field"]
    op = condition.get("op", "is")
    if field == "utm":
        if condition.get("key") not in UTM_KEYS:
            raise ValidationError(f"Choose the UTM field: {', '.join(UTM_KEYS)}.")
        if op not in TEXT_OPS and op not in PRESENCE_OPS:
            raise ValidationError(f"“{op}” does not apply to a UTM field.")
        if op not in PRESENCE_OPS:
            _validate_text_value(condition, label=f"The {condition['key']}")
    elif field == "form":
        if condition.get("page") not in (None, "") and not _is_int(condition.get("page")):
            raise ValidationError("The landing page is given by its id.")
    elif field in DATE_FIELDS:
        if op not in DATE_OPS:
            raise ValidationError(
                f"“{op}” does not apply to a date: use one of {', '.join(sorted(DATE_OPS))}."
            )
        if op in ("in_last_days", "not_in_last_days"):
            if not _is_days(condition.get("value")):
                raise ValidationError(f"The number of days is a whole number, 1 to {MAX_DAYS}.")
        else:
            parse_when(condition.get("value"))
    elif field == "activity":
        if condition.get("kind") not in Activity.Kind.values:
            raise ValidationError(f"Choose the activity: {', '.join(Activity.Kind.values)}.")
        if op not in COUNT_OPS:
            raise ValidationError("Count with at_least, at_most or exactly.")
        count = condition.get("count", 1)
        if not _is_int(count) or not (1 if op == "at_least" else 0) <= int(count) <= 10**9:
            raise ValidationError(
                "The number of times is a whole number (at least 1 for "
                "“at least”, 0 or more otherwise)."
            )
        if condition.get("url") not in (None, "") and not isinstance(condition["url"], str):
            raise ValidationError("The page is a URL or a pattern such as */pricing*.")
    elif field == "journey":
        if condition.get("journey") not in (None, "") and not _is_int(condition.get("journey")):
            raise ValidationError("The journey is given by its id.")
        if condition.get("state", "in") not in JOURNEY_STATES:
            raise ValidationError(f"The journey state is one of {', '.join(JOURNEY_STATES)}.")
        reason = condition.get("reason")
        if reason not in (None, "") and reason not in Enrollment.ExitReason.values:
            raise ValidationError(
                f"The exit reason is one of {', '.join(Enrollment.ExitReason.values)}."
            )
    within = condition.get("within_days")
    if within not in (None, "") and not _is_days(within):
        raise ValidationError(f"“Within days” is a whole number of days, 1 to {MAX_DAYS}.")


def _describe_more(condition: Mapping[str, Any]) -> str:
    field = condition["field"]
    op = str(condition.get("op", "is"))
    value = condition.get("value")
    window = f" in the last {condition['within_days']} days" if condition.get("within_days") else ""
    if field == "utm":
        return f"{condition.get('key')} {op.replace('_', ' ')} {_shown(value)}".strip()
    if field == "form":
        page = f" #{condition['page']}" if condition.get("page") else ""
        return f"submitted form{page}{window}"
    if field in DATE_FIELDS:
        label = FIELD_LABELS[field]
        if op == "in_last_days":
            return f"{label} in the last {value} days"
        if op == "not_in_last_days":
            return f"{label} more than {value} days ago"
        return f"{label} {op.replace('_', ' ')} {value}"
    if field in ("consent", "sms_consent"):
        return f"{'gave' if _truthy(value) else 'did not give'} {FIELD_LABELS[field]}"
    if field == "activity":
        what = str(condition.get("kind", "")).replace("_", " ")
        if condition.get("url"):
            what += f" {condition['url']}"
        if condition.get("name"):
            what += f" “{condition['name']}”"
        times = f"{op.replace('_', ' ')} {condition.get('count', 1)} times"
        return f"{what} {times}{window}"
    journey = f"journey #{condition['journey']}" if condition.get("journey") else "any journey"
    state = str(condition.get("state", "in")).replace("_", " ")
    reason = f" ({condition['reason']})" if condition.get("reason") else ""
    return f"{state} {journey}{reason}"


def _validate_text_value(condition: Mapping[str, Any], *, label: str) -> None:
    op = condition.get("op", "is")
    value = condition.get("value")
    if op in PRESENCE_OPS:
        return
    if op == "in":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"{label}: “in” takes a list of texts.")
    elif not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationError(f"{label}: give a text to compare with.")


def _validate_choice(field: str, condition: Mapping[str, Any]) -> None:
    allowed = CHOICES.get(field)
    if allowed is None or condition.get("op") == "contains":
        return
    value = condition.get("value")
    values = value if isinstance(value, list) else [value]
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise ValidationError(f"The {field.replace('_', ' ')} is one of {', '.join(allowed)}.")


# Beyond this a day count overflows Python's dates, an id PostgreSQL's bigint.
MAX_DAYS = 36_500
_BIGINT = 2**63 - 1


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return abs(int(value)) <= _BIGINT
    except (TypeError, ValueError):
        return False


def _is_days(value: Any) -> bool:
    return _is_int(value) and 1 <= int(value) <= MAX_DAYS


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
