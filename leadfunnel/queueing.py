"""Putting a task on the broker by its name: the one way every app's `queueing.py` enqueues.

Services never import tasks (DESIGN.md: tasks import services); each app's queueing module
names its tasks and calls these. The task is looked up by name and applied (not
`send_task`), so the test suite's eager mode runs it in place.
"""

import logging
from importlib import import_module

from celery import current_app

logger = logging.getLogger(__name__)


def enqueue(name: str, *args: object, countdown: float | None = None, retry: bool = False) -> None:
    """Enqueue task `name` ("app.tasks.function"); a broker error is the caller's. `retry`:
    let kombu retry the publish a few times first (Celery's default; off for callers that
    give up at once and leave the work to a tick)."""
    # Celery registers a task when its module is imported: a worker imports them all at
    # start, a web process only when asked, here.
    import_module(name.rpartition(".")[0])
    task = current_app.tasks[name]
    if countdown is None:
        task.apply_async(args=args, retry=retry)
    else:
        task.apply_async(args=args, retry=retry, countdown=countdown)


def try_enqueue(name: str, *args: object, countdown: float | None = None) -> bool:
    """`enqueue`, fail-soft: False (and a warning) when the broker is unreachable. For work
    whose state lives in PostgreSQL, which a later tick picks up if the message is lost."""
    try:
        enqueue(name, *args, countdown=countdown)
    except Exception:
        # Broad on purpose: kombu and redis raise many kinds when the broker is down.
        logger.warning("broker unreachable; %s%r left for the next tick", name, args, exc_info=True)
        return False
    return True
