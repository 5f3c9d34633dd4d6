"""One-line receivers of lower apps' facts (connected in NurtureConfig.ready)."""

from typing import Any

from nurture.services import engagement, scheduling


def enroll_captured_lead(*, lead_id: int, landing_page_id: int, **kwargs: Any) -> None:
    scheduling.enroll_for_capture(lead_id=lead_id, landing_page_id=landing_page_id)


def hand_hot_lead_to_sales(*, lead_id: int, new: str, **kwargs: Any) -> None:
    if new == "hot":
        scheduling.exit_hot_lead(lead_id=lead_id)


def esp_tracking_event(*, event: Any, esp_name: str, **kwargs: Any) -> None:
    engagement.record_esp_event(
        event_type=event.event_type, recipient=event.recipient or "",
        message_id=event.message_id or "", user_agent=event.user_agent or "",
        url=event.click_url or "", description=event.description or "",
    )  # fmt: skip
