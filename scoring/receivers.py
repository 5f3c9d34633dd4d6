"""One-line receivers of capture's facts and of rule edits (connected in ScoringConfig.ready).

Rescoring runs after the prospect's data is safe: if it fails, the error is logged and the
capture still answers (leadfunnel.announce logs it for an activity; lead_captured, sent
inside capture's outbox transaction, has its receiver's own guard); the nightly
rescore_all_leads run recomputes every lead, so a missed rescoring heals within a day.

`activities_recorded` (an import's chunk: many leads) asks for one set-based rescoring of
the chunk's leads.
"""

import logging
from contextlib import suppress
from typing import Any

from django.db import transaction

from capture.models import Lead
from scoring.models import ScoreChange
from scoring.services import invalidate_rules, request_rescore, score_lead

logger = logging.getLogger(__name__)


def rescore_captured_lead(*, lead_id: int, **kwargs: Any) -> None:
    # lead_captured is sent inside capture's outbox transaction (leadfunnel/announce.py):
    # a raise here would roll the outbox row back, so the failure is logged instead.
    try:
        _score(lead_id=lead_id, cause=ScoreChange.Cause.CAPTURE)
    except Exception:
        logger.exception("Rescoring lead %s failed; the nightly run will catch up", lead_id)


def rescore_after_activity(*, lead_id: int, **kwargs: Any) -> None:
    _score(lead_id=lead_id, cause=ScoreChange.Cause.ACTIVITY)


def rescore_after_activities(*, lead_ids: list[int], **kwargs: Any) -> None:
    request_rescore(cause=ScoreChange.Cause.ACTIVITY, lead_ids=lead_ids)


def forget_cached_rules(**kwargs: Any) -> None:
    # After commit: a process reloading before it would cache the old rules as new.
    transaction.on_commit(invalidate_rules)


def _score(*, lead_id: int, cause: str) -> None:
    with suppress(Lead.DoesNotExist):  # deleted in the meantime: nothing left to score
        score_lead(lead_id=lead_id, cause=cause)
