"""Facts scoring announces, sent on commit by its services (see DESIGN.md).

temperature_changed: sender=ScoreChange, lead_id (int), old (str), new (str): a lead's
temperature ("hot", "warm", "cold") moved, by a rescoring or the nightly job.
"""

from django.dispatch import Signal

temperature_changed = Signal()
