"""Facts sales announces, sent on commit by its services (see DESIGN.md).

stage_changed: sender=Lead, lead_id (int), old (str), new (str), actor_id (int | None): a
lead moved stage (a rep's move, or a booking moving it to booked; actor_id None then).
booking_created: sender=Booking, lead_id (int), booking_id (int): a prospect booked a slot.
lead_created: sender=Lead, lead_id (int): a lead was created by hand or through the API (a
form's new lead is capture's lead_captured with created=True).
task_created: sender=Task, task_id (int), lead_id (int): a task for a rep was made (by hand,
through the API, or by a journey).
"""

from django.dispatch import Signal

stage_changed = Signal()
booking_created = Signal()
lead_created = Signal()
task_created = Signal()
