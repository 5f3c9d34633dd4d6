"""Enqueueing scoring's task by name, so services never import tasks (as nurture.queueing)."""

from leadfunnel.queueing import enqueue

RESCORE_ALL = "scoring.tasks.rescore_all_leads"


def rescore_all_soon(*, cause: str) -> None:
    """One set-based rescoring of every lead in a worker (call on commit)."""
    enqueue(RESCORE_ALL, cause, retry=True)
