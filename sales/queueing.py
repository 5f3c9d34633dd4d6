"""Enqueueing sales' tasks by name, so services never import tasks (as nurture.queueing)."""

from leadfunnel.queueing import enqueue

NOTIFY_HANDOFF = "sales.tasks.notify_handoff"


def notify_handoff_soon(*, handoff_id: int) -> None:
    """The rep's email and webhook from a worker; a broker error is the caller's."""
    enqueue(NOTIFY_HANDOFF, handoff_id)
