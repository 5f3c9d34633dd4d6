"""Capture's writes: a form submission becomes a lead, a submission and an activity."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from capture import queueing
from capture.models import SMS_CONSENT_TEXT, Activity, Campaign, LandingPage, Lead, Submission
from capture.signals import activity_recorded

# Lead fields a submission may fill. A blank value never overwrites a stored one; a
# non-blank one replaces it (latest wins, as in a CRM); the submission keeps history.
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
) -> CaptureResult:
    """Upsert the lead by normalised email and record the submission, in one transaction.

    `data` is the cleaned form data; it is stored whole on the Submission. The lead row is
    inserted with ON CONFLICT DO NOTHING and then locked, so simultaneous submissions of
    one address queue up on the row instead of racing a check-then-insert.
    """
    email = normalise_email(data["email"])
    values = {name: str(data[name]) for name in LEAD_FIELDS if data.get(name)}
    utm = {name: tracking.utm.get(name, "") for name in UTM_FIELDS}
    campaign = _campaign_for(page=page, utm_campaign=utm["utm_campaign"])
    now = timezone.now()
    answers = {page.qualifying_question: answer} if answer and page.qualifying_question else {}

    with transaction.atomic():
        candidate = Lead(
            email=email,
            answers=answers,
            source=utm["utm_source"],
            campaign=campaign,
            stage=Lead.Stage.NEW,
            last_activity_at=now,
            **values,
        )
        if consent_given:
            candidate.consent_given_at, candidate.consent_text = now, page.consent_text
        if sms_consent_given:
            candidate.sms_consent_given_at, candidate.sms_consent_text = now, SMS_CONSENT_TEXT
        Lead.objects.bulk_create([candidate], ignore_conflicts=True)
        lead = Lead.objects.select_for_update().get(email=email)
        created = lead.uid == candidate.uid
        if not created:
            _merge_into(
                lead=lead,
                values=values,
                answers=answers,
                source=utm["utm_source"],
                campaign=campaign,
                consent_at=now if consent_given else None,
                consent_text=page.consent_text,
                sms_consent_at=now if sms_consent_given else None,
                activity_at=now,
            )
        submission = Submission.objects.create(
            lead=lead,
            landing_page=page,
            campaign=campaign,
            data=_jsonable(data),
            referrer=tracking.referrer,
            user_agent=tracking.user_agent,
            ip_hash=hash_ip(tracking.ip),
            created_lead=created,
            **utm,
        )
        Activity.objects.create(
            lead=lead,
            kind=Activity.Kind.FORM_SUBMITTED,
            occurred_at=now,
            metadata={
                "landing_page": page.slug,
                "submission_id": submission.pk,
                **{k: v for k, v in utm.items() if v},
            },
        )
        # Announced by a worker, not in this request (capture.processing): the request
        # answers as soon as the rows are committed.
        transaction.on_commit(lambda: queueing.process_soon(submission.pk))
    return CaptureResult(lead=lead, submission=submission, created=created)


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
        transaction.on_commit(
            lambda: activity_recorded.send(
                sender=Activity, lead_id=lead.pk, activity_id=activity.pk, kind=kind
            )
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
        Activity(lead_id=new.lead_id, kind=new.kind, occurred_at=new.occurred_at,
                 metadata=dict(new.metadata))
        for new in activities
    ]  # fmt: skip
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
            transaction.on_commit(
                lambda lead_id=lead_id, kind=kind, activity_id=activity.pk: activity_recorded.send(
                    sender=Activity,
                    lead_id=lead_id,
                    activity_id=activity_id,
                    kind=kind,
                    activity_ids=batch[(lead_id, kind)],
                )
            )
    return created


def _campaign_for(*, page: LandingPage, utm_campaign: str) -> Campaign | None:
    if utm_campaign:
        matched = Campaign.objects.filter(utm_campaign=utm_campaign).first()
        if matched is not None:
            return matched
    return page.campaign


def _merge_into(
    *,
    lead: Lead,
    values: Mapping[str, str],
    answers: Mapping[str, str],
    source: str,
    campaign: Campaign | None,
    consent_at: datetime | None,
    consent_text: str,
    sms_consent_at: datetime | None,
    activity_at: datetime,
) -> None:
    changed = [name for name, value in values.items() if getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, values[name])
    if answers and any(lead.answers.get(k) != v for k, v in answers.items()):
        lead.answers = {**lead.answers, **answers}
        changed.append("answers")
    # Attribution is first touch: fill it only where it is still empty.
    if source and not lead.source:
        lead.source = source
        changed.append("source")
    if campaign is not None and lead.campaign_id is None:
        lead.campaign = campaign
        changed.append("campaign")
    if consent_at is not None:
        lead.consent_given_at, lead.consent_text = consent_at, consent_text
        changed += ["consent_given_at", "consent_text"]
    if sms_consent_at is not None:
        lead.sms_consent_given_at, lead.sms_consent_text = sms_consent_at, SMS_CONSENT_TEXT
        changed += ["sms_consent_given_at", "sms_consent_text"]
    if activity_at > lead.last_activity_at:
        lead.last_activity_at = activity_at
        changed.append("last_activity_at")
    if changed:
        lead.save(update_fields=[*changed, "updated_at"])


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, bool | int | float | None) else str(value)
        for key, value in data.items()
    }
