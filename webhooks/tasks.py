from celery import shared_task

from webhooks import services


@shared_task(ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    # Retries are scheduled in the database (next_attempt_at with backoff), not a countdown.
    return services.deliver_webhook(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def hand_out_due() -> int:
    """Beat's tick: hand out due retries and deliveries that were lost or stuck."""
    return services.hand_out_due()


@shared_task(ignore_result=True, name="webhooks.tasks.retry_due")
def retry_due() -> int:
    """The old name of `hand_out_due`, still registered: a beat running the old schedule, or
    a message already queued, names it."""
    return services.hand_out_due()
