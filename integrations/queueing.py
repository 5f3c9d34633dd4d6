"""Enqueueing integrations' tasks by name, so services never import tasks (as nurture.queueing).

The import's state is in PostgreSQL (its status and the rows processed so far), so a message
the broker loses only delays the run until a marketer presses "run" again or a worker resumes.
"""

from leadfunnel.queueing import enqueue

RUN_IMPORT = "integrations.tasks.run_import"


def run_import_soon(import_id: int) -> None:
    """Hand the import's next stretch of rows to a worker (call on commit)."""
    enqueue(RUN_IMPORT, import_id, retry=True)
