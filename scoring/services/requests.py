"""Rescoring asked for by another app's set-based write (an import), after it commits."""

import logging
from collections.abc import Sequence

from django.db import transaction

from capture.models import Lead
from scoring import queueing
from scoring.services.scoring import score_lead, score_leads

logger = logging.getLogger(__name__)
# Up to this many leads are scored one by one, as a form's lead is (a few comparisons and
# one UPDATE each, and each score's move announced); more are scored as sets.
RESCORE_ONE_BY_ONE = 50
# Leads scored in one set: one transaction, its locks and its activities held in memory.
RESCORE_SET = 1000


def request_rescore(*, cause: str, lead_ids: Sequence[int] | None = None) -> None:
    """Rescore these leads (None: every lead) once the caller's transaction commits.

    A few are scored one by one, more in sets of RESCORE_SET (`score_leads`), both in this
    process; every lead in one set-based pass in a worker. Never raises into the caller's
    commit: what is missed here the nightly full rescoring catches up.
    """
    ids = None if lead_ids is None else list(dict.fromkeys(lead_ids))
    if ids is None:
        transaction.on_commit(lambda: queueing.rescore_all_soon(cause=cause), robust=True)
    elif len(ids) > RESCORE_ONE_BY_ONE:
        transaction.on_commit(lambda: _score_sets(lead_ids=ids, cause=cause), robust=True)
    elif ids:
        transaction.on_commit(lambda: _score_each(lead_ids=ids, cause=cause), robust=True)


def _score_each(*, lead_ids: list[int], cause: str) -> None:
    for lead_id in lead_ids:
        try:
            score_lead(lead_id=lead_id, cause=cause)
        except Lead.DoesNotExist:
            pass  # deleted in the meantime: nothing left to score
        except Exception:
            logger.exception("Rescoring lead %s failed; the nightly run will catch up", lead_id)


def _score_sets(*, lead_ids: list[int], cause: str) -> None:
    for start in range(0, len(lead_ids), RESCORE_SET):
        batch = lead_ids[start : start + RESCORE_SET]
        try:
            score_leads(lead_ids=batch, cause=cause)
        except Exception:
            logger.exception(
                "Rescoring %s leads (ids %s to %s) failed; the nightly run will catch up",
                len(batch),
                min(batch),
                max(batch),
            )
