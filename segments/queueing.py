"""Enqueueing segments' tasks by name, so services never import tasks (see DESIGN.md).

Fail-soft: a broker that is down only delays a new segment's first fill to beat's next
full refresh.
"""

from leadfunnel.queueing import try_enqueue

REFRESH_SEGMENT = "segments.tasks.refresh_segment"


def refresh_segment_soon(*, segment_id: int) -> bool:
    return try_enqueue(REFRESH_SEGMENT, segment_id)
