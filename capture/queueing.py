"""Enqueueing capture's tasks by name, so services never import tasks (as nurture.queueing).

Fail-soft: what is enqueued here is also in PostgreSQL (the submission outbox), so a broker
that is down only delays the work to the next tick.
"""

import logging
from importlib import import_module

from celery import current_app

logger = logging.getLogger(__name__)
PROCESS_SUBMISSION = "capture.tasks.process_submission"


def process_soon(submission_id: int) -> bool:
    """On commit of a submission: wake a worker to announce it."""
    try:
        import_module("capture.tasks")  # registers the task (a web process imports it lazily)
        # Looked up by name and applied (not send_task), so eager mode in tests runs it.
        current_app.tasks[PROCESS_SUBMISSION].apply_async(args=[submission_id], retry=False)
    except Exception:
        # Broad on purpose: kombu and redis raise many kinds when the broker is down.
        logger.warning("broker unreachable; submission %s waits for the tick", submission_id,
                       exc_info=True)  # fmt: skip
        return False
    return True
