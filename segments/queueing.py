"""Enqueueing segments' tasks by name, so services never import tasks (see DESIGN.md).

Fail-soft: a broker that is down only delays a new segment's first fill to beat's next
full refresh.
"""

import logging
from importlib import import_module

from celery import current_app

logger = logging.getLogger(__name__)
import_module("segments.tasks")
REFRESH_SEGMENT = "segments.tasks.refresh_segment"


def refresh_segment_soon(*, segment_id: int) -> bool:
    try:
        # Looked up by name and applied (not send_task), so eager mode in tests runs it.
        current_app.tasks[REFRESH_SEGMENT].apply_async(args=[segment_id], retry=False)
    except Exception:
        # Broad on purpose: kombu and redis raise many kinds when the broker is down.
        logger.warning("broker unreachable; segment %s waits for the full refresh", segment_id,
                       exc_info=True)  # fmt: skip
        return False
    return True
