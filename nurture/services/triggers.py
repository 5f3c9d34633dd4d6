"""A fact about a lead → the journeys it enters. Called from the apps' signals (see
receivers), from sales (a booking cancelled), from the API and the admin (manual), and from
CSV import (set-based); never by polling the lead table.

Every way in goes through one rule set: the journey is active, has a start node, the lead is
not erased, and the journey's re-entry rule (once ever, again after N days, every time) lets
the lead in. A lead is in a journey at most once at a time (a partial unique index).
"""

import contextlib
import logging
import re
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Seq
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from capture.models import ERASED_EMAIL_DOMAIN, Activity, LandingPage, Lead
from leadfunnel.announce import announce
from nurture import queueing
from nurture.models import Enrollment, Node, Sequence, Trigger
from nurture.services import conditions, exits, goals
from nurture.services.exiting import exit_enrollments
from nurture.signals import journey_entered, journeys_entered

logger = logging.getLogger(__name__)
LIVE = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)


class JourneyRefused(Exception):
    """The journey cannot take this lead now; the message says why, for a 400 or the admin."""


def live_journeys() -> QuerySet[Sequence]:
    return Sequence.objects.filter(
        kind=Sequence.Kind.JOURNEY, status=Sequence.Status.ACTIVE, start_node__isnull=False
    )


def matches(trigger: Trigger, *, lead: Lead, facts: Mapping[str, Any], now: datetime) -> bool:
    """Does this fact (already known to be of the trigger's kind) fire the trigger?"""
    config = trigger.config or {}
    kind = trigger.kind
    if kind == Trigger.Kind.FORM:
        page = config.get("page")
        return page in (None, "") or int(page) == int(facts.get("landing_page_id") or 0)
    if kind == Trigger.Kind.PAGE_VIEW:
        pattern = conditions.url_regex(str(config.get("url", "")))
        if not any(_regex_match(pattern, url) for url in _values(facts, "urls", "url")):
            return False
        needed = int(config.get("count") or 1)
        if needed <= 1:
            return True
        # Counted in the activity log (this view is committed already): "two pricing-page
        # views in a week" fires on the second, wherever the first came from.
        since = now - timedelta(days=int(config.get("within_days") or 7))
        views = Activity.objects.filter(
            lead=lead,
            kind=Activity.Kind.PAGE_VIEWED,
            occurred_at__gte=since,
            metadata__url__iregex=pattern,
        ).count()
        return views >= needed
    if kind == Trigger.Kind.LINK_CLICK:
        url = str(config.get("url") or "")
        pattern = conditions.url_regex(url)
        return not url or any(_regex_match(pattern, link) for link in _values(facts, "urls", "url"))
    if kind == Trigger.Kind.CUSTOM_EVENT:
        wanted = str(config.get("name", "")).strip().lower()
        return bool(wanted) and wanted in {name.lower() for name in _values(facts, "names", "name")}
    if kind == Trigger.Kind.SCORE:
        # Crossing upward only: a lead hovering at the threshold does not re-fire it.
        at_least = int(config.get("at_least", 0))
        new = int(facts.get("new_score", lead.score))
        return int(facts.get("old_score", at_least - 1)) < at_least <= new
    if kind == Trigger.Kind.TEMPERATURE:
        wanted = config.get("temperature", Lead.Temperature.HOT)
        return bool(facts.get("new") == wanted and facts.get("old") != wanted)
    if kind == Trigger.Kind.STAGE:
        return facts.get("stage") == config.get("stage")
    if kind == Trigger.Kind.SEGMENT:
        return str(config.get("segment", "")) == str(facts.get("segment_id", ""))
    # booking_cancelled, email_bounced, manual, import: the fact itself is the match.
    return True


def enter_journeys(
    *,
    lead_id: int,
    kind: str,
    facts: Mapping[str, Any] | None = None,
    journeys: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Enrollment]:
    """Enter `lead_id` into each live journey with a trigger of `kind` that this fact fires."""
    now = now or timezone.now()
    facts = facts or {}
    triggers = Trigger.objects.filter(kind=kind, sequence__in=live_journeys()).select_related(
        "sequence"
    )
    if journeys is not None:
        triggers = triggers.filter(sequence_id__in=list(journeys))
    found = list(triggers.order_by("sequence_id", "pk"))
    if not found:
        return []
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None or lead.is_erased:
        return []
    entered = []
    seen: set[int] = set()
    for trigger in found:
        if trigger.sequence_id in seen or not matches(trigger, lead=lead, facts=facts, now=now):
            continue
        seen.add(trigger.sequence_id)
        try:
            enrollment = enter_journey(
                lead=lead,
                journey=trigger.sequence,
                now=now,
                trigger=describe(trigger, facts),
                needs_confirmation=bool(facts.get("double_opt_in")),
            )
        except JourneyRefused:
            continue  # paused or emptied since the query above
        if enrollment is not None:
            entered.append(enrollment)
    return entered


def enter_journey(
    *,
    lead: Lead,
    journey: Sequence,
    now: datetime | None = None,
    trigger: str = "",
    needs_confirmation: bool = False,
) -> Enrollment | None:
    """Enroll the lead at the journey's first node, if its re-entry rule lets it in.

    None when the lead is in the journey now, or was and may not come back yet (see
    `reentry_refusal`). Raises JourneyRefused when the journey cannot take anyone (paused,
    not a journey, no start node) or the lead was erased. The first nodes run on commit
    (the confirmation goes out within seconds); the tick is the backstop.
    """
    entered = _enter(
        lead=lead,
        journey=journey,
        now=now or timezone.now(),
        trigger=trigger,
        needs_confirmation=needs_confirmation,
    )
    return entered if isinstance(entered, Enrollment) else None


def enroll_manually(
    *, lead_id: int, journey_id: int, by: str = "", now: datetime | None = None
) -> Enrollment:
    """A marketer's or an integration's "put this lead in this journey" (admin, API).

    Raises JourneyRefused with a message for the person asking: no such lead or journey, a
    paused journey or one without a start node, an erased lead, or the re-entry rule.
    """
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        raise JourneyRefused("No lead with this id.")
    journey = Sequence.objects.filter(pk=journey_id, kind=Sequence.Kind.JOURNEY).first()
    if journey is None:
        raise JourneyRefused("No journey with this id.")
    label = Trigger.Kind.MANUAL.label + (f": {by}" if by else "")
    entered = _enter(
        lead=lead,
        journey=journey,
        now=now or timezone.now(),
        trigger=label,
        needs_confirmation=False,
    )
    if not isinstance(entered, Enrollment):
        raise JourneyRefused(entered)
    return entered


def _enter(
    *, lead: Lead, journey: Sequence, now: datetime, trigger: str, needs_confirmation: bool
) -> Enrollment | str:
    """The enrollment, or why the re-entry rule keeps the lead out."""
    with transaction.atomic():
        # Locked, so two facts about one lead at once (two page views) enter it once, and
        # the journey re-read, so a pause that just committed keeps the lead out.
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        journey = Sequence.objects.get(pk=journey.pk)
        refusal = journey_refusal(journey=journey) or (
            "This lead was erased." if lead.is_erased else None
        )
        if refusal:
            raise JourneyRefused(refusal)
        previous = Enrollment.objects.filter(lead=lead, sequence=journey)
        last = previous.aggregate(
            round=Max("round"),
            started=Max("started_at"),
            live=Count("pk", filter=Q(state__in=LIVE)),
        )
        refused = reentry_refusal(
            journey=journey, live=bool(last["live"]), last_started=last["started"], now=now
        )
        if refused:
            return refused
        handed_off = exits.handed_to_sales(lead=lead, sequence=journey)
        try:
            with transaction.atomic():
                enrollment = Enrollment.objects.create(
                    lead=lead,
                    sequence=journey,
                    started_at=now,
                    round=(last["round"] or 0) + 1,
                    current_node_id=journey.start_node_id,
                    next_at=now,
                    trigger=trigger[:200],
                    needs_confirmation=needs_confirmation,
                )
        except IntegrityError:
            return "The lead just entered this journey."  # a concurrent trigger was first
        Lead.objects.filter(pk=lead.pk, stage=Lead.Stage.NEW).update(stage=Lead.Stage.NURTURING)
        if handed_off is not None and not _starts_with_confirmation(journey):
            exit_enrollments(
                lead_id=lead.pk,
                reason=Enrollment.ExitReason.HANDED_TO_SALES,
                sequence_id=journey.pk,
            )
            enrollment.refresh_from_db()
        pk, lead_id, journey_id = enrollment.pk, lead.pk, journey.pk
        transaction.on_commit(lambda: queueing.advance_soon(enrollment_ids=[pk]))
        transaction.on_commit(
            lambda: _announce_entered(
                entered=[(pk, lead_id)], journey_id=journey_id, trigger=trigger
            )
        )
    return enrollment


def journey_refusal(*, journey: Sequence) -> str | None:
    """Why this journey takes no one now, else None."""
    if journey.kind != Sequence.Kind.JOURNEY:
        return "This is a day-list sequence, not a journey."
    if journey.status != Sequence.Status.ACTIVE:
        return f"The journey “{journey.name}” is paused: publish it first."
    if journey.start_node_id is None:
        return f"The journey “{journey.name}” has no start node yet."
    return None


def reentry_refusal(
    *, journey: Sequence, live: bool, last_started: datetime | None, now: datetime
) -> str | None:
    """Why the journey's re-entry rule keeps a lead out, given its earlier enrollments."""
    if live:
        return "The lead is in this journey now."
    if last_started is None or journey.reentry == Sequence.Reentry.ALWAYS:
        return None
    if journey.reentry == Sequence.Reentry.ONCE:
        return "The lead went through this journey before, and it lets a lead in once."
    again = last_started + timedelta(days=journey.reentry_days)
    if journey.reentry == Sequence.Reentry.EVERY_N_DAYS and again > now:
        return f"The lead may enter this journey again from {again:%Y-%m-%d %H:%M} UTC."
    return None


def journeys_triggered_by_import() -> list[Sequence]:
    """Live journeys every CSV import's leads enter (an `import` trigger)."""
    return list(live_journeys().filter(triggers__kind=Trigger.Kind.IMPORT).distinct())


def enter_journey_in_bulk(
    *, journey: Sequence, lead_ids: Seq[int], trigger: str, now: datetime | None = None
) -> list[int]:
    """Enter many leads at once (a CSV import): the ids of the enrollments made.

    Set-based, a few statements per call whatever the number of leads: the re-entry rule is
    read for all of them in one query and the enrollments inserted in one, waiting at the
    start node for the tick (which sends within the sending quotas, instead of an import's
    100,000 confirmations hitting the ESP in a minute). Raises JourneyRefused for a journey
    that takes no one. Erased leads, and leads sales has for a hand-off journey, stay out.
    """
    now = now or timezone.now()
    journey = Sequence.objects.get(pk=journey.pk)
    refusal = journey_refusal(journey=journey)
    if refusal:
        raise JourneyRefused(refusal)
    candidates = Lead.objects.filter(pk__in=list(lead_ids)).exclude(
        email__endswith="@" + ERASED_EMAIL_DOMAIN
    )
    if journey.hand_hot_leads_to_sales:
        candidates = candidates.exclude(
            Q(temperature=Lead.Temperature.HOT)
            | Q(stage__in=exits.SALES_STAGES)
            | Q(owner__isnull=False)
        )
    ids = list(candidates.values_list("pk", flat=True))
    history = {
        row["lead_id"]: row
        for row in Enrollment.objects.filter(sequence=journey, lead_id__in=ids)
        .values("lead_id")
        .annotate(
            round=Max("round"),
            started=Max("started_at"),
            live=Count("pk", filter=Q(state__in=LIVE)),
        )
    }
    rows = []
    for lead_id in ids:
        past = history.get(lead_id)
        if past and reentry_refusal(
            journey=journey, live=bool(past["live"]), last_started=past["started"], now=now
        ):
            continue
        rows.append((lead_id, (past["round"] if past else 0) + 1))
    if not rows:
        return []
    with transaction.atomic():
        entered = _insert_entering(journey=journey, rows=rows, trigger=trigger, now=now)
        Lead.objects.filter(
            pk__in=[lead_id for _, lead_id in entered], stage=Lead.Stage.NEW
        ).update(stage=Lead.Stage.NURTURING)
        journey_id = journey.pk
        transaction.on_commit(
            lambda: _announce_entered(entered=entered, journey_id=journey_id, trigger=trigger)
        )
    return [pk for pk, _ in entered]


def _insert_entering(
    *, journey: Sequence, rows: list[tuple[int, int]], trigger: str, now: datetime
) -> list[tuple[int, int]]:
    """INSERT the (lead, round) enrollments at the start node: (enrollment id, lead id) of
    those inserted. ON CONFLICT DO NOTHING (either unique index): a trigger that entered one
    of these leads since the re-entry read wins, and the import leaves that lead be."""
    if connection.vendor != "postgresql":
        # SQLite (`make run`'s default) has no unnest: the ORM, then the ids read back.
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    lead_id=lead_id,
                    sequence=journey,
                    started_at=now,
                    round=round_,
                    current_node_id=journey.start_node_id,
                    next_at=now,
                    trigger=trigger[:200],
                )
                for lead_id, round_ in rows
            ],
            ignore_conflicts=True,
        )
        made = Enrollment.objects.filter(
            sequence=journey, started_at=now, lead_id__in=[lead for lead, _ in rows]
        )
        return list(made.values_list("pk", "lead_id"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO nurture_enrollment (lead_id, sequence_id, state, exit_reason,
                started_at, needs_confirmation, current_node_id, next_at, "round", "trigger")
            SELECT lead_id, %s, %s, '', %s, false, %s, %s, entering_round, %s
            FROM unnest(%s::bigint[], %s::int[]) AS entering (lead_id, entering_round)
            ON CONFLICT DO NOTHING
            RETURNING id, lead_id
            """,
            [
                journey.pk,
                Enrollment.State.ACTIVE,
                now,
                journey.start_node_id,
                now,
                trigger[:200],
                [lead for lead, _ in rows],
                [round_ for _, round_ in rows],
            ],
        )
        return [(pk, lead_id) for pk, lead_id in cursor.fetchall()]


def _announce_entered(*, entered: Seq[tuple[int, int]], journey_id: int, trigger: str) -> None:
    if len(entered) == 1:
        ((enrollment_id, lead_id),) = entered
        announce(
            journey_entered,
            Enrollment,
            enrollment_id=enrollment_id,
            lead_id=lead_id,
            journey_id=journey_id,
            trigger=trigger,
        )
    else:
        # An import's thousands of entries: one announcement, so a receiver can do set-based
        # work (or, with nobody listening, none) instead of a query per lead.
        announce(
            journeys_entered,
            Enrollment,
            entries=list(entered),
            journey_id=journey_id,
            trigger=trigger,
        )


def describe(trigger: Trigger, facts: Mapping[str, Any]) -> str:
    detail = (
        facts.get("url")
        or facts.get("name")
        or facts.get("stage")
        or facts.get("new")
        or facts.get("new_score")
        or facts.get("segment_id")
        or ""
    )
    return f"{trigger.get_kind_display()}: {detail}" if detail else trigger.get_kind_display()


def _values(facts: Mapping[str, Any], many: str, one: str) -> list[str]:
    """A fact's values of one kind: a batch of events carries several (`urls`, `names`)."""
    found = [str(value) for value in facts.get(many) or () if value]
    return found or ([str(facts[one])] if facts.get(one) else [])


def _starts_with_confirmation(journey: Sequence) -> bool:
    start = journey.start_node
    return start is not None and start.step is not None and start.step.transactional


def _regex_match(pattern: str, value: str) -> bool:
    return re.search(pattern, value, flags=re.IGNORECASE) is not None


def on_capture(*, lead_id: int, landing_page_id: int) -> list[Enrollment]:
    double_opt_in = LandingPage.objects.filter(pk=landing_page_id, double_opt_in=True).exists()
    return enter_journeys(
        lead_id=lead_id,
        kind=Trigger.Kind.FORM,
        facts={"landing_page_id": landing_page_id, "double_opt_in": double_opt_in},
    )


# What each activity kind can start, and which waiting leads it may wake.
ACTIVITY_TRIGGERS: dict[str, str] = {
    Activity.Kind.PAGE_VIEWED: Trigger.Kind.PAGE_VIEW,
    Activity.Kind.EMAIL_CLICKED: Trigger.Kind.LINK_CLICK,
    Activity.Kind.CUSTOM: Trigger.Kind.CUSTOM_EVENT,
    Activity.Kind.EMAIL_BOUNCED: Trigger.Kind.EMAIL_BOUNCED,
}
WAKING = {
    Activity.Kind.PAGE_VIEWED,
    Activity.Kind.EMAIL_CLICKED,
    Activity.Kind.BOOKING_MADE,
    Activity.Kind.EMAIL_OPENED,
    Activity.Kind.CUSTOM,
}


def on_activity(
    *, lead_id: int, activity_id: int, kind: str, activity_ids: Seq[int] | None = None
) -> None:
    """An activity may start journeys, wake leads waiting for it, and reach a goal.

    `activity_ids`: a batch (API ingest, a tracking beacon) is announced once per lead and
    kind; every event of it counts, not only the newest (`/pricing` then `/blog` in one
    beacon still fires a pricing-page trigger).
    """
    now = timezone.now()
    if kind in WAKING:
        # Leads waiting for an event re-check at once (the node decides if this was it).
        Enrollment.objects.filter(
            lead_id=lead_id,
            state=Enrollment.State.ACTIVE,
            current_node__kind=Node.Kind.WAIT_UNTIL,
            node_entered_at__isnull=False,
        ).update(next_at=now)
    if kind == Activity.Kind.EMAIL_CLICKED:
        goals.convert(lead_id=lead_id, event=goals.CLICKED, now=now)
    trigger_kind = ACTIVITY_TRIGGERS.get(kind)
    if trigger_kind is None:
        return
    ids = {activity_id, *(activity_ids or ())}
    rows = Activity.objects.filter(pk__in=ids, lead_id=lead_id).values_list("metadata", flat=True)
    metadata = [row or {} for row in rows]
    urls = [str(m.get("url") or m.get("link") or "") for m in metadata]
    names = [str(m.get("name") or m.get("event") or "") for m in metadata]
    facts = {
        "url": next((url for url in urls if url), ""),
        "urls": [url for url in urls if url],
        "name": next((name for name in names if name), ""),
        "names": [name for name in names if name],
    }
    enter_journeys(lead_id=lead_id, kind=trigger_kind, facts=facts, now=now)


def on_score_changed(*, lead_id: int, old: int, new: int) -> list[Enrollment]:
    if new <= old:
        return []  # score triggers fire on the way up only
    return enter_journeys(
        lead_id=lead_id, kind=Trigger.Kind.SCORE, facts={"old_score": old, "new_score": new}
    )


def on_temperature_changed(*, lead_id: int, old: str, new: str) -> list[Enrollment]:
    return enter_journeys(
        lead_id=lead_id, kind=Trigger.Kind.TEMPERATURE, facts={"old": old, "new": new}
    )


def on_booking_cancelled(*, lead_id: int, booking_id: int) -> list[Enrollment]:
    """Sales calls this on commit of a cancellation (sales may import nurture, not back)."""
    return enter_journeys(
        lead_id=lead_id, kind=Trigger.Kind.BOOKING_CANCELLED, facts={"booking_id": booking_id}
    )


def on_stage_changed(*, lead_id: int, new: str) -> None:
    """A rep's move (or a booking): stage triggers fire and stage goals convert."""
    for event in (
        goals.STAGE,
        goals.WON if new == Lead.Stage.WON else None,
        goals.BOOKED if new in (Lead.Stage.BOOKED, Lead.Stage.WON) else None,
    ):
        if event:
            goals.convert(lead_id=lead_id, event=event)
    enter_journeys(lead_id=lead_id, kind=Trigger.Kind.STAGE, facts={"stage": new})


def on_segment_joined(*, segment_id: int, lead_ids: Seq[int]) -> None:
    """Segments announce joins (one lead as it changed, or a full refresh's set)."""
    if len(lead_ids) == 1:
        enter_journeys(
            lead_id=lead_ids[0], kind=Trigger.Kind.SEGMENT, facts={"segment_id": segment_id}
        )
        return
    journeys = (
        live_journeys()
        .filter(triggers__kind=Trigger.Kind.SEGMENT, triggers__config__segment=segment_id)
        .distinct()
    )
    label = f"{Trigger.Kind.SEGMENT.label}: {segment_id}"
    for journey in journeys:
        # Set-based, as an import: the re-entry rule read once, one INSERT.
        with contextlib.suppress(JourneyRefused):  # paused since the query above
            enter_journey_in_bulk(journey=journey, lead_ids=lead_ids, trigger=label)
