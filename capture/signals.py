"""Facts capture announces, sent on commit by its services (see DESIGN.md).

lead_captured: sender=Lead, lead_id, submission_id, landing_page_id, created
activity_recorded: sender=Activity, lead_id, activity_id, kind; from a batch also
    activity_ids (that lead's activities of that kind in the batch; activity_id is the newest)
"""

from django.dispatch import Signal

lead_captured = Signal()
activity_recorded = Signal()
