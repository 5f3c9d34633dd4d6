from celery import shared_task

from nurture.services import dispatching, sending


@shared_task(ignore_result=True)
def dispatch_due() -> int:
    """Beat's tick: claim what is due and hand it to workers."""
    return len(dispatching.dispatch_due().claimed)


@shared_task(ignore_result=True, acks_late=True)
def send_delivery(delivery_id: int) -> str:
    # Retries are scheduled in the database (due_at with backoff), not with a countdown.
    return sending.send_delivery(delivery_id=delivery_id)
