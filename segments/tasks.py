from celery import shared_task

from segments import services


@shared_task(ignore_result=True)
def refresh_segment(segment_id: int) -> int:
    """A segment just saved: fill its members now, not at the next full refresh."""
    result = services.refresh_segment(segment_id=segment_id)
    return len(result["joined"]) + len(result["left"])


@shared_task(ignore_result=True)
def refresh_segments() -> int:
    """Beat's full refresh: time windows move on without any lead changing."""
    return services.refresh_all_segments()
