"""Enqueueing nurture's tasks by name, so services never import tasks (see DESIGN.md).

Every call is fail-soft: the schedule lives in PostgreSQL, so a broker that is down only
delays the work to the next tick (which finds the enrollment or delivery still due).
"""

from collections.abc import Sequence

from leadfunnel.queueing import try_enqueue

ADVANCE = "nurture.tasks.advance_enrollments"
EFFECT = "nurture.tasks.run_effect"
SEND_BATCH = "nurture.tasks.send_batch"


def send(name: str, *args: object) -> bool:
    return try_enqueue(name, *args)


def send_on(name: str, *args: object, countdown: float | None = None) -> bool:
    return try_enqueue(name, *args, countdown=countdown)


def advance_soon(*, enrollment_ids: Sequence[int]) -> None:
    if enrollment_ids:
        send(ADVANCE, list(enrollment_ids))
