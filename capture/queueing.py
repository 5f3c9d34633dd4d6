"""Enqueueing capture's tasks by name, so services never import tasks (as nurture.queueing).

Fail-soft: what is enqueued here is also in PostgreSQL (the submission outbox), so a broker
that is down only delays the work to the next tick.

The wake-up is published by one thread per process, not by the request: a publish costs a
millisecond of kombu and a round trip to Redis, a third of a form POST's own cost. The
request hands the id over and answers; the thread publishes what has gathered in
GATHER_SECONDS as one task (at most WAKE_BATCH ids), so a quiet site publishes each
submission on its own and an ad spike a few to a task. What a process holds and has not
published when it dies (GATHER_SECONDS' worth, usually none: an exiting worker flushes) is
picked up by the tick from the outbox, as a lost broker message would be.
"""

import atexit
import logging
import os
import threading
import time

from celery import current_app

from leadfunnel.queueing import enqueue, try_enqueue

logger = logging.getLogger(__name__)
PROCESS_SUBMISSION = "capture.tasks.process_submission"
PROCESS_SUBMISSIONS = "capture.tasks.process_submissions"
SEND_BOOKING_LINK = "capture.tasks.send_booking_link"
# Ids per published task: a spike's batches still spread over the worker processes.
WAKE_BATCH = 20
# How long the thread lets ids gather before it publishes: at most 50 publishes a second
# per process whatever the rate of POSTs, for 20 ms more on the way to the Day-1 email.
GATHER_SECONDS = 0.02

_lock = threading.Lock()
_changed = threading.Condition(_lock)
_pending: list[int] = []
_publishing = 0  # ids the thread has taken and not yet published
_thread: threading.Thread | None = None


def process_soon(submission_id: int) -> bool:
    """On commit of a submission: wake a worker to announce it (by the publishing thread)."""
    if current_app.conf.task_always_eager:
        # No worker to wake: run it here and now (the test suite, eager development).
        return _publish([submission_id])
    global _thread
    with _lock:
        _pending.append(submission_id)
        if _thread is None:
            _thread = threading.Thread(target=_publish_forever, name="capture-wake", daemon=True)
            _thread.start()
        _changed.notify_all()
    return True


def flush(timeout: float = 5.0) -> bool:
    """Wait until what this process has handed over is published (or given up on)."""
    with _lock:
        return _changed.wait_for(lambda: not _pending and not _publishing, timeout=timeout)


def send_booking_link_soon(*, lead_id: int, landing_page_id: int) -> bool:
    """On commit: email a known lead its booking link (capture.booking_links), fail-soft."""
    return try_enqueue(SEND_BOOKING_LINK, lead_id, landing_page_id)


def _publish_forever() -> None:
    global _publishing
    while True:
        with _lock:
            _changed.wait_for(lambda: bool(_pending))
        time.sleep(GATHER_SECONDS)  # let a spike's next submissions join this one
        with _lock:
            batch = _pending[:WAKE_BATCH]
            del _pending[:WAKE_BATCH]
            _publishing = len(batch)
        published = _publish(batch)
        with _lock:
            if not published and _pending:
                # The broker is down: the rest waits for the tick too, instead of piling up
                # here behind one connect timeout per batch.
                logger.warning("%s more submissions wait for the tick", len(_pending))
                _pending.clear()
            _publishing = 0
            _changed.notify_all()


def _publish(submission_ids: list[int]) -> bool:
    try:
        if len(submission_ids) == 1:
            enqueue(PROCESS_SUBMISSION, submission_ids[0])
        else:
            enqueue(PROCESS_SUBMISSIONS, list(submission_ids))
    except Exception:
        # Broad on purpose: kombu and redis raise many kinds when the broker is down.
        logger.warning(
            "broker unreachable; submissions %s wait for the tick", submission_ids, exc_info=True
        )
        return False
    return True


def _after_fork() -> None:
    """A forked child (a gunicorn or Celery worker) has no thread and none of the ids."""
    global _lock, _changed, _pending, _publishing, _thread
    _lock = threading.Lock()
    _changed = threading.Condition(_lock)
    _pending, _publishing, _thread = [], 0, None


os.register_at_fork(after_in_child=_after_fork)
# A worker that exits (gunicorn's graceful stop) first publishes what it holds.
atexit.register(flush, timeout=2.0)
