"""Facts segments announce, sent on commit by segments.services (see DESIGN.md).

segment_joined: sender=Segment, segment_id (int), lead_ids (list of int): leads that joined
    the segment (one lead from an incremental re-evaluation, many from a full refresh:
    announced once per segment and refresh, so receivers can work in sets).
segment_left: sender=Segment, segment_id (int), lead_ids (list of int): leads that left.
"""

from django.dispatch import Signal

segment_joined = Signal()
segment_left = Signal()
