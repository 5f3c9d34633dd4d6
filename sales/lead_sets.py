"""Named sets of leads that apps to the right of sales offer the dashboard as a filter.

sales sits left of segments in the app order and cannot import it; segments registers its
saved segments here when it loads (SegmentsConfig.ready), and the dashboard's filter form
shows them as one more select. A rep's saved view keeps the choice like any other filter.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class LeadSets:
    label: str  # the select's label, e.g. "Segment"
    any_label: str  # its empty choice, e.g. "Any segment"
    # (value, name) of each set, as the select lists them; values are short strings.
    choices: Callable[[], list[tuple[str, str]]]
    # The lead ids in the set `value` (a subquery: the dashboard filters `pk__in` it), of
    # the provider's own model, one column per row.
    lead_ids: Callable[[str], QuerySet[Model, Any]]


registered: list[LeadSets] = []


def register(sets: LeadSets) -> None:
    registered.clear()  # one provider: AppConfig.ready may run twice in tests
    registered.append(sets)


def provider() -> LeadSets | None:
    return registered[0] if registered else None
