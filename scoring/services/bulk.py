"""Rescoring every lead at once (`rescore_all_leads`): the nightly run that lets engagement
decay, and the catch-up after a rule change or an import."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from capture.models import Lead
from leadfunnel.announce import announce
from scoring.active_rules import load_rules
from scoring.engine import Params, RuleSet
from scoring.models import ScoreChange
from scoring.services.scoring import STAGES_BEFORE_SALES, score_lead
from scoring.signals import temperature_changed
from scoring.sql import scored_leads_sql

logger = logging.getLogger(__name__)
# Two runs at once would update the same rows in different orders and deadlock.
_ADVISORY_LOCK = 0x5C0E_DECA
_LABELS: dict[str, str] = {
    ScoreChange.Cause.DECAY: "Engagement points decayed",
    ScoreChange.Cause.RULES: "Scoring rules changed",
    ScoreChange.Cause.MANUAL: "Rescored on request",
}


@dataclass(frozen=True)
class RescoreResult:
    rescored: int  # leads whose score or temperature changed
    temperature_changes: int
    seconds: float  # all of it, announcing included
    announce_seconds: float = 0.0  # temperature_changed receivers (nurture, sales)
    skipped: bool = False  # another run was under way


def rescore_all_leads(
    *,
    cause: str = ScoreChange.Cause.DECAY,
    now: datetime | None = None,
    rules: RuleSet | None = None,
) -> RescoreResult:
    """Recompute every lead's score set-based and store those that moved.

    On PostgreSQL this is one statement: the scores of all leads are computed in SQL
    (scoring.sql), only leads whose score or temperature changed are updated, a
    ScoreChange is inserted for each temperature change and stage moves to sales_ready as
    in score_lead. temperature_changed is sent for each on commit. A lead rescored by
    score_lead while this runs keeps score_lead's result: the UPDATE skips rows that
    changed since its snapshot. SQLite (`make run`'s default) lacks the SQL: there it
    rescores lead by lead.
    """
    started = time.monotonic()
    rules = rules or load_rules()  # fresh: this may run in a worker with a stale cache
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return _decay_lead_by_lead(cause=cause, now=now, rules=rules, started=started)
    p = Params()
    scored, (columns,) = scored_leads_sql([rules], now_epoch=now.timestamp(), p=p)
    label = _LABELS.get(cause, "Rescored")
    sql = f"""
        WITH moved AS MATERIALIZED (
            -- Materialized: each lead's score is computed once, not once per reference.
            SELECT id, old_score, old_temperature, {columns.score} AS new_score,
                {columns.temperature} AS new_temperature
            FROM ({scored}) scored
            WHERE {columns.score} <> old_score OR {columns.temperature} <> old_temperature
        ),
        changed AS (
            UPDATE capture_lead AS l
            SET score = s.new_score,
                temperature = s.new_temperature,
                stage = CASE
                    WHEN s.new_temperature = 'hot' AND s.old_temperature <> 'hot'
                        AND l.stage = ANY({p(list(STAGES_BEFORE_SALES))}::text[])
                    THEN {p(Lead.Stage.SALES_READY)} ELSE l.stage END
            FROM moved s
            -- Unchanged since our snapshot: a concurrent score_lead's newer result wins.
            WHERE l.id = s.id AND l.score = s.old_score AND l.temperature = s.old_temperature
            RETURNING l.id, s.old_score, s.new_score, s.old_temperature, s.new_temperature
        ),
        history AS (
            INSERT INTO scoring_scorechange
                (lead_id, old_score, new_score, old_temperature, new_temperature,
                 reasons, cause, at)
            SELECT id, old_score, new_score, old_temperature, new_temperature,
                jsonb_build_array(jsonb_build_object(
                    'rule_id', NULL, 'label', {p(label)}, 'points', new_score - old_score,
                    'text', {p(label + ": ")} || old_score || {p(" → ")} || new_score)),
                {p(cause)}, {p(now)}
            FROM changed WHERE old_temperature <> new_temperature
        )
        SELECT count(*),
            array_agg(id) FILTER (WHERE old_temperature <> new_temperature),
            array_agg(old_temperature) FILTER (WHERE old_temperature <> new_temperature),
            array_agg(new_temperature) FILTER (WHERE old_temperature <> new_temperature)
        FROM changed
    """  # noqa: S608 (scoring.sql's fragments; every value is a bound parameter)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("rescore_all_leads: another run is under way; skipping")
            return RescoreResult(0, 0, time.monotonic() - started, skipped=True)
        # Sorting and hashing a few million activities in memory, not on disk.
        work_mem = getattr(settings, "SCORING_WORK_MEM", "256MB")
        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        cursor.execute(sql, p.values)
        rescored, ids, olds, news = cursor.fetchone()
        changes = list(zip(ids or [], olds or [], news or [], strict=True))
        announcing: list[float] = []
        transaction.on_commit(lambda: announcing.append(_announce(changes)))
    return RescoreResult(rescored, len(changes), time.monotonic() - started, sum(announcing))


def _announce(changes: Sequence[tuple[int, str, str]]) -> float:
    started = time.monotonic()
    for lead_id, old, new in changes:
        announce(temperature_changed, ScoreChange, lead_id=lead_id, old=old, new=new)
    return time.monotonic() - started


def _decay_lead_by_lead(
    *, cause: str, now: datetime, rules: RuleSet, started: float
) -> RescoreResult:
    rescored = moved = 0
    # The ids first, then the writes: on SQLite a read still open (an iterator's cursor)
    # holds the database's shared lock, and the workers' and the web's writes, this one's
    # too, then fail with "database is locked".
    lead_ids = list(Lead.objects.order_by("id").values_list("id", flat=True))
    for lead_id in lead_ids:
        try:
            result = score_lead(
                lead_id=lead_id, cause=cause, now=now, rules=rules, history="temperature"
            )
        except Lead.DoesNotExist:  # deleted while we went through the list
            continue
        rescored += result.changed
        moved += result.temperature != result.old_temperature
    return RescoreResult(rescored, moved, time.monotonic() - started)
