"""One-line receivers (connected in SegmentsConfig.ready).

A lead's change re-evaluates that lead's memberships on the sender's commit: a failure is
logged, never raised into the capture or rescoring that announced it (the full refresh
puts the lead right).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nurture.services import triggers
from segments import services

logger = logging.getLogger(__name__)


@contextmanager
def _logged(what: str, detail: object) -> Iterator[None]:
    try:
        yield
    except Exception:
        logger.exception("Segments on %s failed (%s)", what, detail)


def refresh_changed_lead(*, lead_id: int, **kwargs: Any) -> None:
    with _logged("a lead's change", lead_id):
        services.refresh_lead(lead_id=lead_id)


def enter_journeys_on_join(*, segment_id: int, lead_ids: list[int], **kwargs: Any) -> None:
    with _logged("segment_joined", segment_id):
        triggers.on_segment_joined(segment_id=segment_id, lead_ids=lead_ids)
