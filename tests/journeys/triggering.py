"""Helpers for the trigger tests: one-email journeys started by one trigger."""

from typing import Any

from capture.models import Lead
from nurture.models import Enrollment, Sequence
from nurture.services import journeys
from tests.journeys.builders import email, wait


def journey(
    kind: str, config: dict[str, Any] | None = None, *, first: dict | None = None, **fields: Any
) -> Sequence:
    """A live journey whose one node mails `Hello from <name>` (transactional, so the
    frequency cap never holds it back), or is `first`, entered by a `kind` trigger."""
    name = fields.pop("name", f"{kind} {config or ''}".strip())
    return journeys.build(
        name=name,
        nodes={"hello": first or email(f"Hello from {name}", transactional=True)},
        edges=[],
        start="hello",
        triggers=[(kind, config or {})],
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
        **fields,
    )


def waiting(kind: str, config: dict[str, Any] | None = None, **fields: Any) -> Sequence:
    """A journey whose first node waits three days: a lead entering it stays in it."""
    return journey(kind, config, first=wait(3), **fields)


def entered(lead: Lead) -> dict[str, str]:
    """Journey name → what started the lead's (latest) enrollment in it."""
    rows = Enrollment.objects.filter(lead=lead, sequence__kind=Sequence.Kind.JOURNEY)
    return dict(rows.order_by("round").values_list("sequence__name", "trigger"))


def rounds(lead: Lead, journey: Sequence) -> int:
    return Enrollment.objects.filter(lead=lead, sequence=journey).count()
