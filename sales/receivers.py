"""One-line receivers of lower apps' facts (connected in SalesConfig.ready)."""

from collections.abc import Mapping
from typing import Any

from nurture.services import triggers
from sales.services import handoff, journey_actions


def hand_off_hot_lead(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
    handoff.on_temperature_changed(lead_id=lead_id, old=old, new=new)


def journeys_on_stage_change(*, lead_id: int, new: str, **kwargs: Any) -> None:
    triggers.on_stage_changed(lead_id=lead_id, new=new)


def run_journey_action(
    *,
    action: str,
    lead_id: int,
    enrollment_id: int,
    node_id: int,
    config: Mapping[str, Any],
    **kwargs: Any,
) -> str:
    return journey_actions.perform_journey_action(
        action=action, lead_id=lead_id, enrollment_id=enrollment_id, node_id=node_id, config=config
    )
