from celery import shared_task

from capture import anonymous, booking_links, processing


@shared_task(ignore_result=True, acks_late=True)
def process_submission(submission_id: int) -> None:
    """Announce a stored submission (scoring, enrollment, journeys, webhooks)."""
    processing.process_submission(submission_id=submission_id)


@shared_task(ignore_result=True, acks_late=True)
def process_submissions(submission_ids: list[int]) -> None:
    """Announce stored submissions woken together (capture.queueing batches a spike's)."""
    for submission_id in submission_ids:
        processing.process_submission(submission_id=submission_id)


# SMTPException is an OSError: a mail server that is down or refuses for now is retried.
@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def send_booking_link(lead_id: int, landing_page_id: int) -> None:
    """A known lead's booking link, asked for by a consultation form it may not have sent."""
    booking_links.send_booking_link(lead_id=lead_id, landing_page_id=landing_page_id)


@shared_task(ignore_result=True)
def process_pending() -> int:
    """The tick: submissions whose task never arrived (a broker outage) or failed."""
    return processing.process_pending()


@shared_task(ignore_result=True)
def expire_anonymous() -> int:
    """Hourly: anonymous page views that never became a lead's, past their time."""
    return anonymous.expire_anonymous()
