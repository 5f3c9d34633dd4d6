"""Scoring's writes: score one lead at once, rescore every lead set-based."""

from scoring.services.bulk import DecayResult, decay_scores
from scoring.services.rules import current_rules, invalidate_rules, load_rules
from scoring.services.scoring import ScoreResult, score_lead

__all__ = [
    "DecayResult",
    "ScoreResult",
    "current_rules",
    "decay_scores",
    "invalidate_rules",
    "load_rules",
    "score_lead",
]
