"""Editing a sequence's steps, for the admin's formset and the API alike.

A step switched on (or new) reaches the live enrollments not yet past its day; a step
switched off or removed cancels its deliveries not yet on their way; a step already sent
is switched off instead of deleted, so its sent emails stay in the history.
"""

from django.db import transaction

from nurture.models import Delivery, Step
from nurture.services.scheduling import cancel_pending_for_step, schedule_new_step


def step_saved(*, step: Step, was_active: bool) -> None:
    """Call after saving `step`; `was_active` is its state before (False when new)."""
    if step.is_active and not was_active:
        schedule_new_step(step=step)
    elif not step.is_active and was_active:
        cancel_pending_for_step(step_id=step.pk)


def remove_step(*, step_id: int) -> bool:
    """Delete the step, or switch it off if it was sent already. True when deleted."""
    with transaction.atomic():
        step = Step.objects.select_for_update().get(pk=step_id)
        cancel_pending_for_step(step_id=step.pk)
        if step.deliveries.filter(status=Delivery.Status.SENT).exists():
            Step.objects.filter(pk=step.pk).update(is_active=False)
            return False
        step.delete()
        return True
