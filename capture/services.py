"""Capture's writes: a form submission becomes a lead, a submission and an activity."""

import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, reduce
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.crypto import salted_hmac
from psycopg2 import errors as psycopg2_errors

from capture import queueing
from capture.models import (
    SMS_CONSENT_TEXT,
    Activity,
    Campaign,
    LandingPage,
    Lead,
    Submission,
)
from capture.signals import activities_recorded, activity_recorded
from leadfunnel.announce import announce_on_commit
from leadfunnel.bulk_sql import insert_rows, update_rows

# Lead fields a submission may fill. A blank value never overwrites a stored one. A
# non-blank one replaces it (latest wins, as in a CRM) only when the lead itself sent it
# (its browser's signed cookie names it); anyone else who types a known address only fills
# what is blank, so a stranger's "Attacker" never becomes the name the lead's emails greet.
# Nor does a stranger consent for the lead (`_FILL_BLANKS`). The submission keeps what was
# typed either way (history).
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "time_zone",
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class Tracking:
    """Where a submission came from, as carried from the landing URL and the browser."""

    utm: Mapping[str, str] = field(default_factory=dict)
    referrer: str = ""
    user_agent: str = ""
    ip: str = ""


@dataclass(frozen=True)
class CaptureResult:
    lead: Lead
    submission: Submission
    created: bool
    # The lead itself sent it: this submission created it, or the browser proved it is that
    # lead. Only then may the answer carry the lead's own links (its booking calendar, its
    # tracking token): anyone can type an address that is already known.
    proven: bool


def normalise_email(email: str) -> str:
    """The one form an address is stored, deduplicated and hashed in.

    Lower case, and the domain in its Unicode form: `bob@xn--bcher-kva.example` and
    `bob@BÜCHER.example` are both `bob@bücher.example`, so they are one lead, and the address
    reads as the person typed it. The round trip through Python's IDNA codec (IDNA 2003, the
    one Django uses to put the domain on the wire) also applies nameprep, so two spellings of
    one Unicode domain (composed or not) meet too. A domain the codec refuses (too long, bad
    punycode) stays as it is: the address validators, not this function, say no to it.
    """
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    try:
        return f"{local}@{domain.encode('idna').decode('idna')}"
    except UnicodeError:
        return f"{local}@{domain}"


def hash_ip(ip: str) -> str:
    return salted_hmac("capture.ip", ip, algorithm="sha256").hexdigest() if ip else ""


def capture_submission(
    *,
    page: LandingPage,
    data: Mapping[str, Any],
    tracking: Tracking,
    answer: str = "",
    consent_given: bool = False,
    sms_consent_given: bool = False,
    returning: Lead | None = None,
) -> CaptureResult:
    """Upsert the lead by normalised email and record the submission, in one transaction.

    `returning` is the lead the browser proved it is (its signed lf_id cookie): when that is
    the lead the address names, the submission's values and consents replace the lead's
    (latest wins); otherwise a known lead only has its blanks filled (`_FILL_BLANKS`: its
    fields, its email consent, and SMS consent only with a phone number it had not given),
    and the submission is stored unproven, so it records no topic opt-ins either.

    `data` is the cleaned form data; it is stored whole on the Submission. The lead, the
    submission and its activity are written by one SQL statement (`_store_capture`): an
    INSERT … ON CONFLICT (email) DO UPDATE that merges into an existing lead (its row
    locked by the upsert, so simultaneous submissions of one address queue up on the row
    instead of racing a check-then-insert), and the two inserts that take its id. Outside a
    caller's transaction that statement is its own transaction: one round trip to
    PostgreSQL, commit included, which is what lets the landing page take an ad spike's
    POSTs. Inside one it runs in a savepoint, so a failure leaves nothing of it behind.
    SQLite (`make run`) takes the same steps through the ORM (`_store_capture_portably`).
    """
    email = normalise_email(data["email"])
    latest_wins = returning is not None and returning.email == email
    values = {name: str(data[name]) for name in LEAD_FIELDS if data.get(name)}
    utm = {name: tracking.utm.get(name, "") for name in UTM_FIELDS}
    now = timezone.now()
    answers = {page.qualifying_question: answer} if answer and page.qualifying_question else {}
    candidate = Lead(
        email=email,
        answers=answers,
        source=utm["utm_source"],
        campaign_id=page.campaign_id,
        stage=Lead.Stage.NEW,
        last_activity_at=now,
        **values,
    )
    if consent_given:
        candidate.consent_given_at, candidate.consent_text = now, page.consent_text
    if sms_consent_given:
        candidate.sms_consent_given_at, candidate.sms_consent_text = now, SMS_CONSENT_TEXT
    submission = Submission(
        landing_page_id=page.pk,
        campaign_id=page.campaign_id,
        data=_jsonable(data),
        referrer=tracking.referrer,
        user_agent=tracking.user_agent,
        ip_hash=hash_ip(tracking.ip),
        **utm,
    )
    activity = Activity(
        kind=Activity.Kind.FORM_SUBMITTED,
        occurred_at=now,
        metadata={"landing_page": page.slug, **{k: v for k, v in utm.items() if v}},
    )
    stored: dict[str, Any] = {
        "candidate": candidate,
        "submission": submission,
        "activity": activity,
        "utm_campaign": utm["utm_campaign"],
        "latest_wins": latest_wins,
    }
    if connection.vendor != "postgresql":  # SQLite (make run): the same, statement by statement
        with transaction.atomic():
            lead, submission = _store_capture_portably(**stored)
    elif connection.in_atomic_block:
        with transaction.atomic():
            lead, submission = _store_capture(**stored)
    else:
        lead, submission = _store_capture(**stored)
    # Announced by a worker, not in this request (capture.processing): the request
    # answers as soon as the rows are committed (at once here when no caller's transaction
    # is open, else when the caller's commits).
    transaction.on_commit(lambda: queueing.process_soon(submission.pk))
    created = lead.uid == candidate.uid
    return CaptureResult(
        lead=lead, submission=submission, created=created, proven=created or latest_wins
    )


def record_activity(
    *,
    lead: Lead,
    kind: str,
    occurred_at: datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Activity:
    """Append one behavioural event to a lead's log and announce it on commit."""
    with transaction.atomic():
        activity = Activity.objects.create(
            lead=lead,
            kind=kind,
            occurred_at=occurred_at or timezone.now(),
            metadata=dict(metadata or {}),
        )
        note_latest_activity(latest={lead.pk: activity.occurred_at})
        announce_on_commit(
            activity_recorded, Activity, lead_id=lead.pk, activity_id=activity.pk, kind=kind
        )
    return activity


def note_latest_activity(*, latest: Mapping[int, datetime]) -> None:
    """Move each lead's `last_activity_at` forward to its newest recorded activity.

    Conditional, so a late-arriving older event (a batch, an ESP webhook) never moves it back.
    Call it in the transaction that writes the activities.
    """
    for lead_id, at in latest.items():
        Lead.objects.filter(pk=lead_id, last_activity_at__lt=at).update(last_activity_at=at)


@dataclass(frozen=True)
class NewActivity:
    """One behavioural event to record, for `record_activities`."""

    lead_id: int
    kind: str
    occurred_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict)


def record_activities(*, activities: Sequence[NewActivity]) -> list[Activity]:
    """Append a batch of events (API ingest, tracking beacons) in one transaction.

    All or nothing: a batch is validated before it gets here, and a failure leaves no part of
    it behind. On commit `activity_recorded` is sent once per lead and kind (naming the newest
    of those activities, with `activity_ids` naming all of them), not once per row: each send
    rescores the lead, and 500 page views of one lead need one rescoring, not 500.
    """
    rows = [
        Activity(
            lead_id=new.lead_id,
            kind=new.kind,
            occurred_at=new.occurred_at,
            metadata=dict(new.metadata),
        )
        for new in activities
    ]
    with transaction.atomic():
        created = Activity.objects.bulk_create(rows)
        latest: dict[int, datetime] = {}
        for activity in created:
            latest[activity.lead_id] = max(
                activity.occurred_at, latest.get(activity.lead_id, activity.occurred_at)
            )
        note_latest_activity(latest=latest)
        newest: dict[tuple[int, str], Activity] = {}
        batch: dict[tuple[int, str], list[int]] = {}
        for activity in created:
            key = (activity.lead_id, activity.kind)
            batch.setdefault(key, []).append(activity.pk)
            if key not in newest or activity.occurred_at >= newest[key].occurred_at:
                newest[key] = activity
        for (lead_id, kind), activity in newest.items():
            announce_on_commit(
                activity_recorded,
                Activity,
                lead_id=lead_id,
                activity_id=activity.pk,
                kind=kind,
                activity_ids=batch[(lead_id, kind)],
            )
    return created


# How a submission's values merge into a lead that exists (ON CONFLICT … DO UPDATE) that
# the lead itself sent: a blank value never overwrites a stored one, a non-blank one
# replaces it (latest wins); answers are merged key by key; attribution (source, campaign)
# is first touch; a consent given now is recorded with its text; last_activity_at only
# moves forward. `old` is the stored row, EXCLUDED the candidate; a column not named here
# keeps its stored value, and updated_at moves only when one of these changed the row.
_LEAD_MERGE = {
    **dict.fromkeys(LEAD_FIELDS, "COALESCE(NULLIF(EXCLUDED.{c}, ''), old.{c})"),
    "answers": "old.{c} || EXCLUDED.{c}",
    "source": "CASE WHEN old.{c} = '' THEN EXCLUDED.{c} ELSE old.{c} END",
    "campaign": "COALESCE(old.{c}, EXCLUDED.{c})",
    "consent_given_at": "COALESCE(EXCLUDED.{c}, old.{c})",
    "consent_text": (
        "CASE WHEN EXCLUDED.consent_given_at IS NULL THEN old.{c} ELSE EXCLUDED.{c} END"
    ),
    "sms_consent_given_at": "COALESCE(EXCLUDED.{c}, old.{c})",
    "sms_consent_text": (
        "CASE WHEN EXCLUDED.sms_consent_given_at IS NULL THEN old.{c} ELSE EXCLUDED.{c} END"
    ),
    "last_activity_at": "GREATEST(old.{c}, EXCLUDED.{c})",
}
# A submission by someone the browser did not prove to be the lead: what it gave fills
# the lead's blanks, never replaces what the lead said. Its email consent is recorded only
# for a lead that has none, so the proof of the lead's own consent stays where it is. SMS
# consent is for a number: the submission gives it only with the number it fills in (what
# it ticked, or none), never for the number the lead gave, which the submitter did not type.
_GIVES_PHONE = "old.phone = '' AND EXCLUDED.phone <> ''"
_FILL_BLANKS = {
    **_LEAD_MERGE,
    **dict.fromkeys(LEAD_FIELDS, "CASE WHEN old.{c} = '' THEN EXCLUDED.{c} ELSE old.{c} END"),
    "answers": "EXCLUDED.{c} || old.{c}",
    "consent_given_at": "COALESCE(old.{c}, EXCLUDED.{c})",
    "consent_text": (
        "CASE WHEN old.consent_given_at IS NULL AND EXCLUDED.consent_given_at IS NOT NULL"
        " THEN EXCLUDED.{c} ELSE old.{c} END"
    ),
    **dict.fromkeys(
        ("sms_consent_given_at", "sms_consent_text"),
        f"CASE WHEN {_GIVES_PHONE} THEN EXCLUDED.{{c}} ELSE old.{{c}} END",
    ),
}


def _store_capture(
    *,
    candidate: Lead,
    submission: Submission,
    activity: Activity,
    utm_campaign: str,
    latest_wins: bool,
) -> tuple[Lead, Submission]:
    """Write the lead (inserted or merged), the submission and its activity in one statement
    (`_capture_sql`), and return the lead and the submission as stored."""
    campaign = [utm_campaign, candidate.campaign_id] if utm_campaign else [candidate.campaign_id]
    metadata = Activity._meta.get_field("metadata").get_db_prep_save(activity.metadata, connection)
    params = [
        *_insert_params(candidate, campaign=campaign),
        *_insert_params(
            submission,
            lead=[],
            campaign=campaign,
            created_lead=[candidate.uid],
            proven=[] if latest_wins else [candidate.uid],
        ),
        *_insert_params(activity, lead=[], metadata=[metadata]),
    ]
    sql = _capture_sql(campaign_by_key=bool(utm_campaign), latest_wins=latest_wins)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # a caller's transaction: an error must not retry
            cursor.execute(sql, params)
        else:
            _execute_prepared(cursor, sql=sql, params=params)
        row = cursor.fetchone()
    split = len(Lead._meta.concrete_fields)
    return _from_row(Lead, row[:split]), _from_row(Submission, row[split:])


@cache
def _capture_sql(*, campaign_by_key: bool, latest_wins: bool) -> str:
    """The capture statement, built once from the models' fields: a field added to one of
    them is written here as the ORM would write it (its default, auto_now, db_default).

    The lead is upserted (ON CONFLICT on the unique email, merged by `_LEAD_MERGE` when the
    lead itself sent it, else by `_FILL_BLANKS`: two statements, each prepared once), the
    submission and the activity take its id, the activity names the submission; the lead's
    and the submission's whole rows come back."""
    quote = connection.ops.quote_name
    # A campaign whose key the URL names wins over the page's own.
    campaign = "COALESCE((SELECT id FROM capture_campaign WHERE utm_campaign = %s), %s)"
    campaign = campaign if campaign_by_key else "%s"
    lead_id = "(SELECT id FROM lead)"
    lead_sql = _insert_sql(Lead, alias="old", campaign=campaign)
    created_lead = "(SELECT uid = %s FROM lead)"
    submission_sql = _insert_sql(
        Submission,
        lead=lead_id,
        campaign=campaign,
        created_lead=created_lead,
        # The lead's own when the browser proved it, else only when it created the lead.
        proven="TRUE" if latest_wins else created_lead,
    )
    activity_sql = _insert_sql(
        Activity,
        lead=lead_id,
        metadata="(%s::jsonb || jsonb_build_object('submission_id', (SELECT id FROM submission)))",
    )
    templates = _LEAD_MERGE if latest_wins else _FILL_BLANKS
    merge = [
        (quote(_column(f)), template.format(c=quote(_column(f))))
        for f in Lead._meta.concrete_fields
        if (template := templates.get(f.name))
    ]
    changed = (
        f"ROW({', '.join(expression for _, expression in merge)}) IS DISTINCT FROM "
        f"ROW({', '.join('old.' + column for column, _ in merge)})"
    )
    updated_at = quote(_column(Lead._meta.get_field("updated_at")))
    assignments = [f"{column} = {expression}" for column, expression in merge]
    assignments.append(
        f"{updated_at} = CASE WHEN {changed} THEN EXCLUDED.{updated_at} ELSE old.{updated_at} END"
    )
    lead_columns = [quote(_column(f)) for f in Lead._meta.concrete_fields]
    submission_columns = [quote(_column(f)) for f in Submission._meta.concrete_fields]
    email = quote(_column(Lead._meta.get_field("email")))
    return (
        f"WITH lead AS ({lead_sql} ON CONFLICT ({email}) DO UPDATE SET {', '.join(assignments)}"  # noqa: S608 - our own tables and columns
        f" RETURNING {', '.join('old.' + c for c in lead_columns)}),"
        f" submission AS ({submission_sql} RETURNING {', '.join(submission_columns)}),"
        f" activity AS ({activity_sql} RETURNING 1)"
        f" SELECT {', '.join('lead.' + c for c in lead_columns)},"
        f" {', '.join('submission.' + c for c in submission_columns)} FROM lead, submission"
    )


def _store_capture_portably(
    *,
    candidate: Lead,
    submission: Submission,
    activity: Activity,
    utm_campaign: str,
    latest_wins: bool,
) -> tuple[Lead, Submission]:
    """`_store_capture` through the ORM, for databases without data-modifying WITH (SQLite,
    which `make run` uses); the caller holds the transaction. Held equal to the statement by
    tests/capture/test_capture_statement.py."""
    if utm_campaign:
        by_key = Campaign.objects.filter(utm_campaign=utm_campaign).values_list("pk", flat=True)
        campaign_id = by_key.first() or candidate.campaign_id
        candidate.campaign_id = submission.campaign_id = campaign_id
    Lead.objects.bulk_create([candidate], ignore_conflicts=True)
    lead = Lead.objects.select_for_update().get(email=candidate.email)
    created = lead.uid == candidate.uid
    if not created:
        _merge_portably(lead=lead, candidate=candidate, latest_wins=latest_wins)
    submission.lead, submission.created_lead = lead, created
    submission.proven = created or latest_wins
    submission.save(force_insert=True)
    activity.lead = lead
    activity.metadata = {**activity.metadata, "submission_id": submission.pk}
    activity.save(force_insert=True)
    return lead, submission


def _merge_portably(*, lead: Lead, candidate: Lead, latest_wins: bool) -> None:
    """`_LEAD_MERGE` (or `_FILL_BLANKS`) in Python: the candidate's values into the lead."""
    changed: list[str] = []
    # Unproven, SMS consent comes only with the number the submission fills in (what it
    # ticked, or none): decided before the fields below fill it.
    takes_sms_consent = (
        candidate.sms_consent_given_at is not None
        if latest_wins
        else bool(candidate.phone) and not lead.phone
    )

    def take(name: str, value: Any) -> None:
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            changed.append(name)

    for name in LEAD_FIELDS:
        if getattr(candidate, name) and (latest_wins or not getattr(lead, name)):
            take(name, getattr(candidate, name))
    if latest_wins:
        take("answers", {**lead.answers, **candidate.answers})
    else:
        take("answers", {**candidate.answers, **lead.answers})
    if not lead.source:
        take("source", candidate.source)
    if lead.campaign_id is None:
        take("campaign_id", candidate.campaign_id)
    if candidate.consent_given_at is not None and (latest_wins or lead.consent_given_at is None):
        take("consent_given_at", candidate.consent_given_at)
        take("consent_text", candidate.consent_text)
    if takes_sms_consent:
        take("sms_consent_given_at", candidate.sms_consent_given_at)
        take("sms_consent_text", candidate.sms_consent_text)
    take("last_activity_at", max(lead.last_activity_at, candidate.last_activity_at))
    if changed:
        lead.save(update_fields=[*changed, "updated_at"])


# Per database connection (the driver's own, so a reconnect starts afresh): the statements
# PREPAREd on it.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
_prepared_lock = threading.Lock()


def _execute_prepared(cursor: Any, *, sql: str, params: list[Any]) -> None:
    """Run `sql` as a statement PREPAREd once per connection: the capture statement is 5 KB
    of SQL that PostgreSQL would otherwise parse and plan again for every POST.

    A connection that lost its statements (DISCARD ALL by a pooler) prepares it again."""
    name, prepare, execute = _prepared_forms(sql)
    with _prepared_lock:  # threaded web workers: one connection per thread, one mapping
        kept = _prepared.setdefault(connection.connection, set())
    if name not in kept:
        cursor.execute(prepare)
        kept.add(name)
    try:
        cursor.execute(execute, params)
    except DatabaseError as error:
        if not isinstance(error.__cause__, psycopg2_errors.InvalidSqlStatementName):
            raise
        cursor.execute(prepare)
        cursor.execute(execute, params)


@cache
def _prepared_forms(sql: str) -> tuple[str, str, str]:
    """The name, PREPARE and EXECUTE of `sql` (its %s placeholders numbered $1, $2, …)."""
    name = "capture_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
    pieces = sql.split("%s")
    numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))
    placeholders = ", ".join(["%s"] * (len(pieces) - 1))
    return name, f"PREPARE {name} AS {numbered}", f"EXECUTE {name} ({placeholders})"


def _inserted_fields(model: type[Model]) -> list[Any]:
    """The fields an INSERT writes: every concrete one but the serial id."""
    return [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]


def _from_database_default(model_field: Any) -> bool:
    """A field the database fills (db_default with no Python default), as the ORM does."""
    return model_field.has_db_default() and not model_field.has_default()


def _column(field: Any) -> str:
    """A concrete field's column (the stubs allow None, which only a relation's reverse has)."""
    if not field.column:
        raise ValueError(f"{field} has no column")
    return str(field.column)


def _insert_sql(model: type[Model], *, alias: str = "", **expressions: str) -> str:
    """`INSERT INTO <table> (<columns>) VALUES (…)` for `model`, with `expressions` (SQL, by
    field name) in place of some values; `_insert_params` gives the parameters in order."""
    quote = connection.ops.quote_name
    fields = _inserted_fields(model)
    values = [
        expressions.get(f.name) or ("DEFAULT" if _from_database_default(f) else "%s")
        for f in fields
    ]
    table = quote(model._meta.db_table) + (f" AS {alias}" if alias else "")
    columns = ", ".join(quote(f.column) for f in fields)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(values)})"  # noqa: S608 - our own table


def _insert_params(obj: Model, **expression_params: list[Any]) -> list[Any]:
    """The parameters of `_insert_sql` for `obj`: its values prepared as the ORM prepares
    them (defaults, auto_now), and each expression's own in place of its field's."""
    params: list[Any] = []
    for model_field in _inserted_fields(type(obj)):
        if model_field.name in expression_params:
            params.extend(expression_params[model_field.name])
        elif not _from_database_default(model_field):
            value = model_field.pre_save(obj, add=True)
            params.append(model_field.get_db_prep_save(value, connection))
    return params


def _from_row[M: Model](model: type[M], values: Sequence[Any]) -> M:
    """An instance of `model` from its columns as the database returned them (every
    concrete field, in order), converted as a queryset's rows are."""
    converted = [
        reduce(lambda value, converter: converter(value, column, connection), converters, value)
        for (column, converters), value in zip(_converters(model), values, strict=True)
    ]
    return model.from_db(connection.alias, _attnames(model), converted)


@cache
def _converters(model: type[Model]) -> list[tuple[Any, list[Any]]]:
    table = model._meta.db_table
    columns = [f.get_col(table) for f in model._meta.concrete_fields]
    return [
        (column, [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)])
        for column in columns
    ]


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, bool | int | float | None) else str(value)
        for key, value in data.items()
    }


# Imports (integrations' CSV import writes leads through here) -----------------------------


@dataclass(frozen=True)
class ImportedLeads:
    """What `import_leads` did to one batch of rows."""

    created: list[tuple[int, str, str]]  # (id, email, time zone) of each lead inserted
    existing: list[Lead]  # the leads that were there already, locked, as merged
    changed: list[Lead]  # those of `existing` the merge changed (and stored)

    @property
    def touched_ids(self) -> list[int]:
        return [lead_id for lead_id, _email, _zone in self.created] + [
            lead.pk for lead in self.changed
        ]


def import_leads(
    *,
    rows: Mapping[str, Mapping[str, Any]],
    merge: Callable[[Lead, Mapping[str, Any]], bool],
    columns: Sequence[str],
    consent_text: str,
    activity: Mapping[str, Any],
    now: datetime,
) -> ImportedLeads:
    """Upsert a batch of leads by normalised email, set-based, and record what happened.

    `rows` maps each (normalised, validated) email to its Lead attributes. New leads are
    inserted with the file's consent (INSERT … ON CONFLICT DO NOTHING); the leads already
    there are locked and handed to `merge` (the importer's dedupe policy, in memory, True if
    it changed the lead), and those it changed are stored (`columns` and the consent). Each
    lead created or changed gets one `custom` activity with `activity` as its metadata. A
    few statements per batch, whatever its size; the caller's transaction holds them.

    The activities are announced on commit as one `activities_recorded` for the batch, not
    an `activity_recorded` per lead: 100,000 rescorings and trigger checks would be the
    import's whole cost, where a receiver of the batch (scoring) works set-based.
    """
    fresh = {
        "stage": Lead.Stage.NEW,
        "consent_given_at": now,
        "consent_text": consent_text,
        "last_activity_at": now,
    }
    new_rows = [{**values, **fresh} for values in rows.values()]
    # ON CONFLICT DO NOTHING, then lock what was there: a lead captured by a form at the
    # same moment ends as one row, merged below like any other existing lead.
    inserted = insert_rows(
        Lead,
        new_rows,
        now=now,
        ignore_conflicts_on=["email"],
        returning=["id", "email", "time_zone"],
    )
    created = [(lead_id, email, zone) for lead_id, email, zone in inserted]
    created_emails = {email for _id, email, _zone in created}
    existing = list(
        Lead.objects.select_for_update()
        .filter(email__in=[email for email in rows if email not in created_emails])
        .order_by("pk")
    )
    changed: list[Lead] = []
    for lead in existing:
        if merge(lead, rows[lead.email]):
            lead.last_activity_at = max(lead.last_activity_at, now)
            changed.append(lead)
    stored = [*columns, "consent_given_at", "consent_text", "updated_at", "last_activity_at"]
    update_rows(Lead, changed, stored)
    result = ImportedLeads(created=created, existing=existing, changed=changed)
    metadata = dict(activity)  # one object for every row: bulk_sql prepares it once
    activities = [
        {"lead_id": lead_id, "kind": Activity.Kind.CUSTOM, "occurred_at": now, "metadata": metadata}
        for lead_id in result.touched_ids
    ]
    insert_rows(Activity, activities, now=now)
    if activities:
        announce_on_commit(
            activities_recorded,
            Activity,
            lead_ids=result.touched_ids,
            kind=Activity.Kind.CUSTOM,
            metadata=metadata,
        )
    return result
