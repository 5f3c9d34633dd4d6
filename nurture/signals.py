"""Facts nurture announces, sent on commit by its services (see DESIGN.md).

lead_unsubscribed: sender=Lead, lead_id (int): a lead unsubscribed (the first time).
"""

from django.dispatch import Signal

lead_unsubscribed = Signal()
