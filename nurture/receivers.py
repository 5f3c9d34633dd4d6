"""One-line receivers of lower apps' facts (connected in NurtureConfig.ready)."""

from typing import Any

from nurture.services import engagement, scheduling, triggers


def enroll_captured_lead(*, lead_id: int, landing_page_id: int, **kwargs: Any) -> None:
    scheduling.enroll_for_capture(lead_id=lead_id, landing_page_id=landing_page_id)


def enter_journeys_on_capture(*, lead_id: int, landing_page_id: int, **kwargs: Any) -> None:
    triggers.on_capture(lead_id=lead_id, landing_page_id=landing_page_id)


def enter_journeys_on_activity(*, lead_id: int, activity_id: int, kind: str, **kwargs: Any) -> None:
    triggers.on_activity(lead_id=lead_id, activity_id=activity_id, kind=kind)


def hand_hot_lead_to_sales(*, lead_id: int, new: str, **kwargs: Any) -> None:
    if new == "hot":
        scheduling.exit_hot_lead(lead_id=lead_id)


def enter_journeys_on_temperature(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
    triggers.enter_journeys(lead_id=lead_id, kind="temperature", facts={"old": old, "new": new})


def esp_tracking_event(*, event: Any, esp_name: str, **kwargs: Any) -> None:
    engagement.record_esp_event(
        event_type=event.event_type, recipient=event.recipient or "",
        message_id=event.message_id or "", user_agent=event.user_agent or "",
        url=event.click_url or "", description=event.description or "",
    )  # fmt: skip
