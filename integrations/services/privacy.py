"""Data-subject requests: export everything stored about a lead, or erase it.

Erasure anonymises instead of deleting: rows stay (a submission still counts on its page,
an open still counts for its step, a booking still fills its slot), but nothing in them
says who the person was. The one exception is the suppression list: it keeps the plain
address, because the send path matches it on the address (`nurture.Suppression.email`)
and a person who asked to be forgotten must never be mailed again, even if a colleague
re-imports an old list with them on it. Keeping the minimum needed to honour an objection
is what the suppression list is for (GDPR art. 17(3)(b), art. 21; the ICO's guidance on
suppression lists). Storing a hash there instead would need nurture to look addresses up
by hash at send time.
"""

import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from capture.models import ERASED_EMAIL_DOMAIN, Activity, Lead, Submission
from integrations.models import PrivacyRequest
from nurture.models import ConsentRecord, Delivery, SmsMessage, SmsSuppression, Suppression
from nurture.services.engagement import suppress
from nurture.services.sms import suppress_number, valid_e164
from nurture.topic_selectors import consent_log_for_export
from sales.models import LeadChange, Note

ERASED_DOMAIN = ERASED_EMAIL_DOMAIN
ERASED_TEXT = "[erased]"
# Activity metadata that says what happened, not who it was: kept so the timeline, the
# per-step statistics and scoring patterns (a /pricing view) stay right.
_KEPT_METADATA = frozenset(
    {
        "delivery_id",
        "step",
        "event",
        "name",
        "landing_page",
        "submission_id",
        "booking_id",
        "starts_at",
        "import_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
    }
)
_URL_METADATA = ("url", "link")
# Lead fields that identify a person. Company size, industry, country, time zone, source,
# campaign, stage and score describe a segment, not a person, and keep the aggregates.
_PII_FIELDS = ("first_name", "last_name", "phone", "company", "job_title")
# Columns never rewritten by the sweep: the kept suppression entry (see above), and staff
# accounts, which are not leads even when a colleague tests with their own address.
_SWEEP_SKIPPED = {
    ("nurture", "suppression", "email"),
    ("auth", "user", "email"),
    ("auth", "user", "username"),
}
_TEXT_FIELDS = (models.CharField, models.TextField)


def erased_email(lead: Lead) -> str:
    return f"erased-{lead.uid.hex}@{ERASED_DOMAIN}"


def is_erased(lead: Lead) -> bool:
    return lead.is_erased


# Export ----------------------------------------------------------------------------------


def export_lead_data(*, lead_id: int, actor: User | None = None) -> dict[str, Any]:
    """Everything stored about one lead, as JSON-ready data; the request is audited."""
    lead = Lead.objects.get(pk=lead_id)
    data: dict[str, Any] = {
        "lead": _row(lead),
        "suppressions": [_row(row) for row in Suppression.objects.filter(email=lead.email)],
    }
    # Every table that points at the lead, so a model added later is exported too.
    for relation in Lead._meta.related_objects:
        if relation.one_to_many:
            accessor = relation.get_accessor_name()
            if accessor is None:  # only a symmetrical many-to-many on itself has none
                raise ValueError(f"{relation} has no accessor")
            manager = getattr(lead, accessor)
            key = relation.related_model._meta.label_lower
            data[key] = [_row(row) for row in manager.all().order_by("pk")]
    data["nurture.delivery"] = [
        _row(row) for row in Delivery.objects.filter(enrollment__lead=lead).order_by("pk")
    ]
    # The consent log in words (topic names, not ids): what the person agreed to, and when.
    data["consent_log"] = consent_log_for_export(lead_id=lead.pk)
    now = timezone.now()
    PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.EXPORT,
        lead_id=lead.pk,
        lead_uid=lead.uid,
        actor=actor,
        completed_at=now,
    )
    data["exported_at"] = now
    exported: dict[str, Any] = json.loads(json.dumps(data, cls=_Encoder))
    return exported


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)  # a Country, a file: their text is what the person needs


def _row(instance: models.Model) -> dict[str, Any]:
    fields = [field.name for field in instance._meta.concrete_fields]
    row = model_to_dict(instance, fields=fields)
    row["id"] = instance.pk
    return row


# Erase -----------------------------------------------------------------------------------


def erase_lead(*, lead_id: int, actor: User | None, reason: str) -> PrivacyRequest:
    """Anonymise the lead everywhere in one transaction, after suppressing its address.

    Keeps every row (so counts and funnel figures stay right), the lead's id (its uid is
    replaced, which voids its tracking cookie and emailed links),
    and what describes a segment rather than a person. Running it twice is harmless.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        request = PrivacyRequest.objects.create(
            kind=PrivacyRequest.Kind.ERASE,
            lead_id=lead.pk,
            lead_uid=lead.uid,
            actor=actor,
            reason=reason[:500],
        )
        old_email = lead.email
        identifying = [getattr(lead, name) for name in _PII_FIELDS] + [lead.full_name]
        if not is_erased(lead):
            # First, so that no email goes out from here on: it ends the lead's enrollments.
            suppress(email=old_email, reason=Suppression.Reason.MANUAL, detail="Erased on request")
            number = valid_e164(lead.phone)
            if number is not None:
                # Likewise no text: the number stays only as a suppression, like the address.
                suppress_number(phone=number, reason=SmsSuppression.Reason.MANUAL, keyword="")
        # A new uid kills every signed link and tracking cookie made for the person (they
        # name the uid): their browser's page views must not keep arriving after erasure.
        lead.uid = uuid.uuid4()
        placeholder = erased_email(lead)
        for name in _PII_FIELDS:
            setattr(lead, name, "")
        lead.email, lead.answers = placeholder, {}
        lead.save(update_fields=[*_PII_FIELDS, "email", "answers", "uid", "updated_at"])
        Submission.objects.filter(lead=lead).update(data={}, referrer="", user_agent="", ip_hash="")
        ConsentRecord.objects.filter(lead=lead).update(ip_hash="")
        _scrub_activities(lead_id=lead.pk)
        Note.objects.filter(lead=lead).update(body=ERASED_TEXT)
        LeadChange.objects.filter(lead=lead).exclude(reason="").update(reason=ERASED_TEXT)
        Delivery.objects.filter(enrollment__lead=lead).exclude(last_error="").update(
            last_error=ERASED_TEXT
        )
        SmsMessage.objects.filter(lead=lead).update(to_number="", body=ERASED_TEXT)
        _scrub_admin_log(lead=lead)
        if old_email != placeholder:
            _sweep(email=old_email, placeholder=placeholder, values=identifying)
        request.completed_at = timezone.now()
        request.save(update_fields=["completed_at"])
    return request


def _scrub_activities(*, lead_id: int) -> None:
    activities = Activity.objects.filter(lead_id=lead_id).only("pk", "metadata")
    changed = []
    for activity in activities.iterator(chunk_size=2000):
        kept = {key: value for key, value in activity.metadata.items() if key in _KEPT_METADATA}
        for key in _URL_METADATA:
            if isinstance(activity.metadata.get(key), str):
                kept[key] = _without_query(activity.metadata[key])
        if kept != activity.metadata:
            activity.metadata = kept
            changed.append(activity)
    Activity.objects.bulk_update(changed, ["metadata"], batch_size=2000)


def _scrub_admin_log(*, lead: Lead) -> None:
    """The admin's history names each object it logs (a lead's full name, "Ada Lovelace on
    Free consultation"): blank those names for the lead and every row that belongs to it."""
    ids_by_model: dict[type[models.Model], list[Any]] = {Lead: [lead.pk]}
    for relation in Lead._meta.related_objects:
        if relation.one_to_many:
            related = relation.related_model
            ids_by_model[related] = list(
                related._base_manager.filter(**{relation.field.name: lead}).values_list(
                    "pk", flat=True
                )
            )
    ids_by_model[Delivery] = list(
        Delivery.objects.filter(enrollment__lead=lead).values_list("pk", flat=True)
    )
    types = ContentType.objects.get_for_models(*ids_by_model)
    for model, ids in ids_by_model.items():
        if ids:
            LogEntry.objects.filter(
                content_type=types[model], object_id__in=[str(pk) for pk in ids]
            ).update(object_repr=ERASED_TEXT)


def _without_query(url: str) -> str:
    """Query strings and fragments carry emails and names (?email=…); the path is kept."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _sweep(*, email: str, placeholder: str, values: list[str]) -> None:
    """Find the address in every text and JSON column of every table and replace it.

    This catches what the targeted updates above cannot know about: a webhook payload, a
    stored API response, a note on another lead, a free-text reason. In a JSON value that
    holds the address, the lead's name, phone and company strings are blanked as well.
    The match is on whole addresses: erasing ann@example.com leaves joann@example.com be.
    Every table is scanned once: seconds on millions of rows, for a rare request.
    """
    if connection.vendor != "postgresql":
        return  # the regular expressions below are PostgreSQL's (the app's database)
    # Not inside a longer address: no address character before it, none (nor a further
    # domain label) after it.
    before, after = r"(?<![A-Za-z0-9._%+-])", r"(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9])"
    pattern = before + _regex_escape(email) + after
    quoted = [json.dumps(value, ensure_ascii=False) for value in {*values} if len(value) > 1]
    with connection.cursor() as cursor:
        for model in apps.get_models():
            meta = model._meta
            if not meta.managed or meta.proxy:
                continue
            text, jsonb = [], []
            for field in meta.concrete_fields:
                skipped = (meta.app_label, meta.model_name, field.name) in _SWEEP_SKIPPED
                if skipped or field.column is None:  # a concrete field always has a column
                    continue
                if isinstance(field, models.JSONField):
                    jsonb.append(connection.ops.quote_name(field.column))
                elif isinstance(field, _TEXT_FIELDS):
                    text.append(connection.ops.quote_name(field.column))
            if not text and not jsonb:
                continue
            table = connection.ops.quote_name(meta.db_table)
            sets = [f"{column} = regexp_replace({column}, %(p)s, %(r)s, 'gi')" for column in text]
            for column in jsonb:
                expression = f"regexp_replace({column}::text, %(p)s, %(r)s, 'gi')"
                for index in range(len(quoted)):
                    expression = f"replace({expression}, %(v{index})s, '\"\"')"
                sets.append(f"{column} = ({expression})::jsonb")
            where = " OR ".join(
                [f"{column} ~* %(p)s" for column in text]
                + [f"{column}::text ~* %(p)s" for column in jsonb]
            )
            params = {"p": pattern, "r": placeholder}
            params |= {f"v{index}": value for index, value in enumerate(quoted)}
            # Identifiers come from the models' own metadata; every value is a parameter.
            cursor.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE {where}", params)  # noqa: S608


def _regex_escape(text: str) -> str:
    """Escape for PostgreSQL's advanced regular expressions (a backslash before any
    non-alphanumeric character makes it literal)."""
    return re.sub(r"([^A-Za-z0-9])", r"\\\1", text)
