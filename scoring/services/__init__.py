"""Scoring's writes: score one lead at once, a set of leads or every lead set-based."""

from scoring.active_rules import current_rules, invalidate_rules, load_rules
from scoring.services.bulk import RescoreResult, rescore_all_leads
from scoring.services.requests import request_rescore
from scoring.services.scoring import ScoreResult, score_lead, score_leads

__all__ = [
    "RescoreResult",
    "ScoreResult",
    "current_rules",
    "invalidate_rules",
    "load_rules",
    "request_rescore",
    "rescore_all_leads",
    "score_lead",
    "score_leads",
]
