"""One-line receivers of lower apps' facts (connected in SalesConfig.ready)."""

from typing import Any

from sales.services import handoff


def hand_off_hot_lead(*, lead_id: int, old: str, new: str, **kwargs: Any) -> None:
    handoff.on_temperature_changed(lead_id=lead_id, old=old, new=new)
