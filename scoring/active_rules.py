"""The active rules, compiled once per process and reloaded when a marketer changes them.

Rule loading lives here, in one place below both selectors (a lead's breakdown, the admin's
simulation) and services (scoring one lead, rescoring all), so neither imports the other.

Every process keeps its compiled RuleSet beside a version token read from the shared cache
(Redis in production); saving or deleting a rule or the settings writes a new token on
commit, so the next score in any process reloads. Reading the token costs one cache GET;
loading the rules costs two queries, once per change. With the local-memory cache of
`make run` the token is not shared between processes, so a process also reloads rules
older than SCORING_RULES_MAX_AGE seconds (default 60).
"""

import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from scoring.engine import RuleSet, rule_problems, rule_set
from scoring.models import ScoringConfig, ScoringRule

logger = logging.getLogger(__name__)
VERSION_KEY = "scoring:rules-version"
_lock = threading.Lock()
_loaded: tuple[str, float, RuleSet] | None = None


def scoring_config() -> ScoringConfig:
    """The settings row, or the defaults while nobody has saved it (no write here)."""
    return ScoringConfig.objects.filter(pk=1).first() or ScoringConfig()


def load_rules() -> RuleSet:
    """The active rules and the settings, fresh from the database."""
    usable = []
    for rule in ScoringRule.objects.filter(active=True).order_by("id"):
        # A rule written around the admin's validation must not stop all scoring.
        if problems := rule_problems(rule):
            logger.warning("Skipping scoring rule %s (%s): %s", rule.pk, rule, problems)
            continue
        usable.append(rule)
    return rule_set(rules=usable, config=scoring_config())


def current_rules() -> RuleSet:
    global _loaded
    version = cache.get(VERSION_KEY)
    if version is None:
        # First use, or the cache was flushed: agree on a token (add is atomic).
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY, "")
    max_age = getattr(settings, "SCORING_RULES_MAX_AGE", 60)
    loaded = _loaded
    if loaded is not None and loaded[0] == version and time.monotonic() - loaded[1] < max_age:
        return loaded[2]
    with _lock:
        rules = load_rules()
        _loaded = (version, time.monotonic(), rules)
    return rules


def invalidate_rules() -> None:
    """Make every process reload the rules; call after the change has committed."""
    global _loaded
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    _loaded = None
