"""Facts capture announces, sent on commit by its services (see DESIGN.md).

lead_captured: sender=Lead, lead_id, submission_id, landing_page_id, created
activity_recorded: sender=Activity, lead_id, activity_id, kind; from a batch also
    activity_ids (that lead's activities of that kind in the batch; activity_id is the newest)
activities_recorded: sender=Activity, lead_ids (list of int), kind, metadata (dict): many
    leads got one activity each, all of that kind and metadata, in one write (a chunk of a
    CSV import), announced once so that a receiver does set-based work, not a query per lead
"""

from django.dispatch import Signal

lead_captured = Signal()
activity_recorded = Signal()
activities_recorded = Signal()
