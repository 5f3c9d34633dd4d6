from celery import shared_task

from integrations.services import ad_sync, importing


# Each task works for at most ~40 s and hands the rest of the file to a fresh task, so a
# 100,000-row import never meets Celery's time limits and survives a worker restart.
@shared_task(ignore_result=True, acks_late=True, soft_time_limit=120, time_limit=180)
def run_import(import_id: int) -> None:
    if not importing.run_import(import_id=import_id):
        run_import.delay(import_id)


@shared_task(ignore_result=True, acks_late=True)
def sync_audiences() -> None:
    """The schedule: every enabled segment → ad-platform audience sync."""
    ad_sync.sync_due()


@shared_task(ignore_result=True, acks_late=True)
def sync_audience(sync_id: int, trigger: str = "manual") -> None:
    ad_sync.sync_audience(sync_id=sync_id, trigger=trigger)
