"""One-line receivers of lower apps' facts (connected in NurtureConfig.ready).

Each runs after the fact's write is committed and calls one service. A failure is the
announcer's to log (leadfunnel.announce: with the lead's id, the other receivers still
run), never raised into the capture, the tracking beacon or the rescoring that announced
the fact: the lead simply does not enter, and nothing is half-written.

One fact is not announced that way, so its receivers keep a guard of their own (`_logged`):
`lead_captured`, which capture/processing.py sends inside the outbox's transaction (a
receiver that raised would roll the outbox row back, and every receiver would run again).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nurture.services import engagement, exiting, scheduling, topics, triggers

logger = logging.getLogger(__name__)


@contextmanager
def _logged(what: str, lead_id: int) -> Iterator[None]:
    try:
        yield
    except Exception:
        logger.exception("Journey entry on %s failed for lead %s", what, lead_id)


def record_form_topic_opt_ins(*, lead_id: int, submission_id: int, **kwargs: Any) -> None:
    # Before enrollment (connected first): a day list of an opt-in topic reads the opt-in.
    try:
        topics.record_form_opt_ins(submission_id=submission_id)
    except Exception:
        logger.exception("Recording the topic opt-ins of submission %s failed", submission_id)


def enroll_captured_lead(*, lead_id: int, landing_page_id: int, **kwargs: Any) -> None:
    scheduling.enroll_for_capture(lead_id=lead_id, landing_page_id=landing_page_id)


def enter_journeys_on_capture(*, lead_id: int, landing_page_id: int, **kwargs: Any) -> None:
    with _logged("capture", lead_id):
        triggers.on_capture(lead_id=lead_id, landing_page_id=landing_page_id)


def enter_journeys_on_activity(
    *, lead_id: int, activity_id: int, kind: str, activity_ids: Any = None, **kwargs: Any
) -> None:
    triggers.on_activity(
        lead_id=lead_id, activity_id=activity_id, kind=kind, activity_ids=activity_ids
    )


def hand_hot_lead_to_sales(*, lead_id: int, new: str, **kwargs: Any) -> None:
    if new == "hot":
        exiting.hand_to_sales(lead_id=lead_id)


def enter_journeys_on_temperature(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
    triggers.on_temperature_changed(lead_id=lead_id, old=old, new=new)


def enter_journeys_on_score(*, lead_id: int, old: int, new: int, **kwargs: Any) -> None:
    triggers.on_score_changed(lead_id=lead_id, old=old, new=new)


def esp_tracking_event(*, event: Any, esp_name: str, **kwargs: Any) -> None:
    engagement.record_esp_event(
        event_type=event.event_type,
        recipient=event.recipient or "",
        message_id=event.message_id or "",
        user_agent=event.user_agent or "",
        url=event.click_url or "",
        description=event.description or "",
    )
