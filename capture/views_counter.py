"""Landing-page view counts, added up in each process and written at most once a second per
page (CAPTURE_VIEW_COUNT_FLUSH_SECONDS): under an ad spike one UPDATE of the page's row per
view would make every visit wait on the same row and a WAL flush.

What a process has counted but not yet written is lost if the process dies: at most a
second's views of that process, for a figure that is a rate's denominator, not a record.
"""

import threading
import time

from django.conf import settings
from django.db.models import F

from capture.models import LandingPage

_lock = threading.Lock()
_pending: dict[int, int] = {}
_written_at: dict[int, float] = {}


def count_view(page_id: int) -> None:
    now = time.monotonic()
    with _lock:
        _pending[page_id] = _pending.get(page_id, 0) + 1
        if now - _written_at.get(page_id, 0.0) < settings.CAPTURE_VIEW_COUNT_FLUSH_SECONDS:
            return
        views = _pending.pop(page_id)
        _written_at[page_id] = now
    LandingPage.objects.filter(pk=page_id).update(view_count=F("view_count") + views)


def flush() -> None:
    """Write every page's counted views now (tests; a worker's shutdown)."""
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    for page_id, views in pending.items():
        LandingPage.objects.filter(pk=page_id).update(view_count=F("view_count") + views)
