from celery import shared_task

from sales.services import handoff


@shared_task(ignore_result=True, acks_late=True)
def notify_handoff(handoff_id: int) -> None:
    handoff.notify_handoff(handoff_id=handoff_id)
