"""One-line receivers (connected in SegmentsConfig.ready).

A lead's change re-evaluates that lead's memberships on the sender's commit; an import's
chunk (`activities_recorded`) re-evaluates its leads as a set. Every fact but
one is announced through leadfunnel.announce, which logs a receiver's failure with the lead
and never raises it into the capture or rescoring that announced it (the full refresh puts
the lead right). The exception is `lead_captured`, which capture/processing.py sends inside
its outbox transaction: its receiver keeps a guard of its own, since a raise there would
roll the outbox row back and run every receiver again.
"""

import logging
from typing import Any

from nurture.services import triggers
from segments import services

logger = logging.getLogger(__name__)


def refresh_changed_lead(*, lead_id: int, **kwargs: Any) -> None:
    services.refresh_lead(lead_id=lead_id)


def refresh_imported_leads(*, lead_ids: list[int], **kwargs: Any) -> None:
    services.refresh_leads(lead_ids=lead_ids)


def refresh_captured_lead(*, lead_id: int, **kwargs: Any) -> None:
    try:
        services.refresh_lead(lead_id=lead_id)
    except Exception:
        logger.exception("Segments on a capture failed (lead %s)", lead_id)


def enter_journeys_on_join(*, segment_id: int, lead_ids: list[int], **kwargs: Any) -> None:
    triggers.on_segment_joined(segment_id=segment_id, lead_ids=lead_ids)
