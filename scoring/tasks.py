from celery import shared_task

from scoring.models import ScoreChange
from scoring.services import decay_scores as decay_scores_service


# A million leads take seconds, not the default 60 s soft limit meant for single emails.
@shared_task(soft_time_limit=15 * 60, time_limit=20 * 60)
def decay_scores(cause: str = ScoreChange.Cause.DECAY) -> dict[str, int | bool]:
    result = decay_scores_service(cause=cause)
    return {"rescored": result.rescored, "temperature_changes": result.temperature_changes,
            "skipped": result.skipped}  # fmt: skip
