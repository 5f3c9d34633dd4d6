"""What every node handler shares: the visit, the outcomes, the context and the registry
the handlers register on (the package imports them all, so importing it fills it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nurture.models import Enrollment, Node
    from nurture.services.nodes.email import Planned


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

    def add_delivery(self, delivery: Planned) -> None: ...
    def add_effect(self, enrollment_id: int, node_id: int, again: bool = False) -> None: ...
    def node_name(self, node_id: int) -> str: ...


class NodeNames(Mapping[int, str]):
    """The journey's node names as the condition describer reads them (by id, on demand)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __getitem__(self, node_id: int) -> str:
        name = self.ctx.node_name(node_id)
        if not name:
            raise KeyError(node_id)
        return name

    def __iter__(self) -> Iterator[int]:
        return iter(())  # names are looked up, never listed

    def __len__(self) -> int:
        return 0  # so never test one for truth: it is empty as a list, full as a lookup


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
        return self.handlers[kind]


registry = Registry()
