"""Sales pages: the dashboard, a lead's page and its actions, the funnel metrics."""

from sales.views.dashboard import dashboard, live
from sales.views.leads import (
    add_note,
    lead_detail,
    lead_score,
    move_stage,
    pause_sequence,
    reassign,
    stop_sequence,
    take,
)
from sales.views.metrics import metrics
from sales.views.tasks import add_task, complete_task

__all__ = [
    "add_note",
    "add_task",
    "complete_task",
    "dashboard",
    "lead_detail",
    "lead_score",
    "live",
    "metrics",
    "move_stage",
    "pause_sequence",
    "reassign",
    "stop_sequence",
    "take",
]
