"""Enqueueing nurture's tasks by name, so services never import tasks (see DESIGN.md).

Every call is fail-soft: the schedule lives in PostgreSQL, so a broker that is down only
delays the work to the next tick (which finds the enrollment or delivery still due).
"""

import logging
from collections.abc import Sequence
from importlib import import_module

from celery import current_app

logger = logging.getLogger(__name__)
# Celery registers tasks when their module is imported (a worker imports them all at start;
# a web process only when asked): importing by name here keeps services free of tasks.
import_module("nurture.tasks")
ADVANCE = "nurture.tasks.advance_enrollments"
EFFECT = "nurture.tasks.run_effect"
SEND_BATCH = "nurture.tasks.send_batch"


def send(name: str, *args: object) -> bool:
    return send_on(name, *args)


def send_on(name: str, *args: object, countdown: float | None = None) -> bool:
    try:
        # Looked up by name and applied (not send_task), so eager mode in tests runs it.
        current_app.tasks[name].apply_async(args=list(args), retry=False, countdown=countdown)
    except Exception:
        # Broad on purpose: kombu and redis raise many kinds when the broker is down.
        logger.warning("broker unreachable; %s%r left for the next tick", name, args, exc_info=True)
        return False
    return True


def advance_soon(*, enrollment_ids: Sequence[int]) -> None:
    if enrollment_ids:
        send(ADVANCE, list(enrollment_ids))


def after_advance(*, delivery_ids: Sequence[int], effects: Sequence[tuple[int, int]]) -> None:
    # dispatching enqueues its send batches through this module, so this one asks for it
    # only when called (the one function-level import here, for that cycle).
    from nurture.services.dispatching import publish

    if delivery_ids:
        publish(delivery_ids=delivery_ids)
    for enrollment_id, node_id in effects:
        if not send(EFFECT, enrollment_id, node_id):
            break
