"""Rescoring asked for by another app's set-based write (an import), after it commits."""

import logging
from collections.abc import Sequence

from django.db import transaction

from capture.models import Lead
from scoring import queueing
from scoring.services.scoring import score_lead

logger = logging.getLogger(__name__)
# Up to this many leads are scored one by one (a few comparisons and one UPDATE each); past
# it one set-based pass over every lead is cheaper than that many rescorings.
RESCORE_ONE_BY_ONE = 50


def request_rescore(*, cause: str, lead_ids: Sequence[int] | None = None) -> None:
    """Rescore these leads (None: every lead) once the caller's transaction commits.

    A few are scored in this process; more, or every lead, in one set-based pass in a
    worker. Never raises into the caller's commit: what is missed here the nightly full
    rescoring catches up.
    """
    ids = None if lead_ids is None else list(dict.fromkeys(lead_ids))
    if ids is not None and not ids:
        return
    if ids is not None and len(ids) <= RESCORE_ONE_BY_ONE:
        transaction.on_commit(lambda: _score_each(lead_ids=ids, cause=cause), robust=True)
    else:
        transaction.on_commit(lambda: queueing.rescore_all_soon(cause=cause), robust=True)


def _score_each(*, lead_ids: list[int], cause: str) -> None:
    for lead_id in lead_ids:
        try:
            score_lead(lead_id=lead_id, cause=cause)
        except Lead.DoesNotExist:
            pass  # deleted in the meantime: nothing left to score
        except Exception:
            logger.exception("Rescoring lead %s failed; the nightly run will catch up", lead_id)
