"""One module per node kind. Each exposes `run(node, visits, ctx) -> {enrollment_id: Outcome}`.

A handler sees a batch of enrollments at its node (all arriving, or all resuming after a
wait) and answers, for each, where it goes: `Go(port)` along an arrow, `Wait(until)` here,
or `End(converted=...)`. It reads in set-based queries and writes through `ctx` (which the
tick flushes in bulk, and a dry run discards), so one node costs a fixed number of queries
per batch, not per lead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nurture.models import Enrollment, Node


@dataclass
class Visit:
    enrollment: Enrollment
    # When the lead reached this node (arriving) or the tick's time (resuming). In a dry
    # run, the simulated clock.
    at: datetime
    arriving: bool


@dataclass(frozen=True)
class Go:
    port: str = "next"
    note: str = ""
    # When the lead left, if not the visit's time (a dry run's email leaves when it would
    # have gone out).
    at: datetime | None = None


@dataclass(frozen=True)
class Wait:
    until: datetime
    note: str = ""


@dataclass(frozen=True)
class End:
    converted: bool = False
    note: str = ""


Outcome = Go | Wait | End


class Context(Protocol):
    now: datetime
    dry_run: bool

    def add_delivery(self, delivery: object) -> None: ...
    def add_effect(self, enrollment_id: int, node_id: int) -> None: ...
    def node_name(self, node_id: int) -> str: ...


Handler = Callable[["Node", list[Visit], Context], dict[int, Outcome]]


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)

    def register(self, kind: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.handlers[kind] = handler
            return handler

        return decorator

    def __getitem__(self, kind: str) -> Handler:
        if kind not in self.handlers:
            _load_all()  # one handler module imported early must not hide the others
        return self.handlers[kind]


registry = Registry()


def _load_all() -> None:
    # Importing the modules registers their handlers.
    from nurture.services.nodes import (  # noqa: F401
        branch,
        effects,
        email,
        goal,
        split,
        wait,
    )
