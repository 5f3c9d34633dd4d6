from celery import shared_task

from webhooks import services


@shared_task(ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    # Retries are scheduled in the database (next_attempt_at with backoff), not a countdown.
    return services.deliver_webhook(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def retry_due() -> int:
    """Beat's tick: hand out due retries and deliveries that were lost or stuck."""
    return services.retry_due()
