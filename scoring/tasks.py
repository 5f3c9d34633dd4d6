from celery import shared_task

from scoring.models import ScoreChange
from scoring.services import rescore_all_leads as rescore_all_leads_service


# A million leads take seconds, not the default 60 s soft limit meant for single emails.
@shared_task(soft_time_limit=15 * 60, time_limit=20 * 60)
def rescore_all_leads(cause: str = ScoreChange.Cause.DECAY) -> dict[str, int | bool]:
    result = rescore_all_leads_service(cause=cause)
    return {
        "rescored": result.rescored,
        "temperature_changes": result.temperature_changes,
        "skipped": result.skipped,
    }


@shared_task(name="scoring.tasks.decay_scores", soft_time_limit=15 * 60, time_limit=20 * 60)
def decay_scores(cause: str = ScoreChange.Cause.DECAY) -> dict[str, int | bool]:
    """The old name of `rescore_all_leads`, still registered: nightly schedules saved in the
    database before the rename, and messages already queued, name it."""
    return rescore_all_leads(cause)
