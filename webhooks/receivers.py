"""One-line receivers of the other apps' facts (connected in WebhooksConfig.ready)."""

from typing import Any

from webhooks import services


def lead_captured(*, lead_id: int, created: bool, **kwargs: Any) -> None:
    if created:
        services.publish_lead_created(lead_id=lead_id)


def lead_created(*, lead_id: int, **kwargs: Any) -> None:
    services.publish_lead_created(lead_id=lead_id)


def temperature_changed(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
    if new == "hot":
        services.publish_lead_hot(lead_id=lead_id, old=old)


def stage_changed(
    *, lead_id: int, old: str, new: str, actor_id: int | None = None, **kwargs: Any
) -> None:
    services.publish_stage_changed(lead_id=lead_id, old=old, new=new, actor_id=actor_id)


def booking_created(*, lead_id: int, booking_id: int, **kwargs: Any) -> None:
    services.publish_booking_created(lead_id=lead_id, booking_id=booking_id)


def task_created(*, lead_id: int, task_id: int, **kwargs: Any) -> None:
    services.publish_task_created(lead_id=lead_id, task_id=task_id)


def journey_entered(*, enrollment_id: int, lead_id: int, journey_id: int, **kwargs: Any) -> None:
    services.publish_journey_entered(enrollment_id=enrollment_id, lead_id=lead_id)


def journeys_entered(*, entries: list[tuple[int, int]], **kwargs: Any) -> None:
    services.publish_journeys_entered(entries=entries)


def journey_converted(*, enrollment_id: int, lead_id: int, goal: str = "", **kwargs: Any) -> None:
    services.publish_journey_converted(enrollment_id=enrollment_id, lead_id=lead_id, goal=goal)


def lead_unsubscribed(*, lead_id: int, **kwargs: Any) -> None:
    services.publish_lead_unsubscribed(lead_id=lead_id)
