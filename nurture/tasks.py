from celery import shared_task

from nurture.services import actions, advancing, dispatching, sending


@shared_task(ignore_result=True)
def hand_out_due() -> int:
    """Beat's tick: claim what is due and hand it to workers."""
    return len(dispatching.hand_out_due().claimed)


@shared_task(ignore_result=True)
def dispatch_due() -> int:
    """The task's name before the glossary (docs/glossary.md): kept for saved schedules."""
    return hand_out_due()


@shared_task(ignore_result=True, acks_late=True)
def send_delivery(delivery_id: int) -> str:
    # Retries are scheduled in the database (due_at with backoff), not with a countdown.
    return sending.send_delivery(delivery_id=delivery_id)


@shared_task(ignore_result=True, acks_late=True)
def send_batch(delivery_ids: list[int]) -> int:
    """One batch over one connection; each message is recorded before the next goes."""
    outcomes = sending.send_batch(delivery_ids=delivery_ids)
    return sum(1 for outcome in outcomes.values() if outcome == "sent")


@shared_task(ignore_result=True)
def advance_due() -> int:
    """Beat's journey tick: move due enrollments on, in sets."""
    return advancing.advance_all_due()


@shared_task(ignore_result=True, acks_late=True)
def advance_enrollments(enrollment_ids: list[int]) -> int:
    return advancing.advance(enrollment_ids=enrollment_ids)


@shared_task(ignore_result=True, acks_late=True)
def run_effect(enrollment_id: int, node_id: int) -> str:
    return actions.run_effect(enrollment_id=enrollment_id, node_id=node_id)
