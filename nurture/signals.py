"""Facts nurture announces, sent on commit by its services (see DESIGN.md).

lead_unsubscribed: sender=Lead, lead_id (int): a lead unsubscribed (the first time).
journey_entered: sender=Enrollment, enrollment_id, lead_id, journey_id, trigger (str).
journeys_entered: sender=Enrollment, entries (list of (enrollment_id, lead_id)), journey_id,
    trigger (str): many leads entered at once (a CSV import), announced once.
journey_converted: sender=Enrollment, enrollment_id, lead_id, journey_id, goal (str).
journey_action: sender=Node, action (str: "task", "stage", "field", "note"), lead_id,
    enrollment_id, node_id, config (dict): a journey asks the apps that own these writes
    (sales) to make them; receivers return a short result for the lead's path.
"""

from django.dispatch import Signal

lead_unsubscribed = Signal()
journey_entered = Signal()
journeys_entered = Signal()
journey_converted = Signal()
journey_action = Signal()
