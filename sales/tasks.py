from celery import shared_task

from sales.services import funnel, handoff


@shared_task(ignore_result=True, acks_late=True)
def notify_handoff(handoff_id: int) -> None:
    handoff.notify_handoff(handoff_id=handoff_id)


@shared_task(ignore_result=True)
def recount_funnel_facts() -> None:
    """Beat, every minute: the leads that moved since (the metrics read recounts the rest)."""
    funnel.recount_pending()
