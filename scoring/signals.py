"""Facts scoring announces, sent on commit by its services (see DESIGN.md).

temperature_changed: sender=ScoreChange, lead_id (int), old (str), new (str): a lead's
temperature ("hot", "warm", "cold") moved, by a rescoring or the nightly job.
score_changed: sender=ScoreChange, lead_id (int), old (int), new (int): a rescoring of one
lead (score_lead: a capture, an activity) moved its score. The set-based rescoring of every
lead (rescore_all_leads) does not send it: decay only lowers scores, and a rule change's catch-up
would send one per lead of the whole table.
"""

from django.dispatch import Signal

temperature_changed = Signal()
score_changed = Signal()
