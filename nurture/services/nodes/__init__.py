"""One module per node kind. Each exposes `run(node, visits, ctx) -> {enrollment_id: Outcome}`.

A handler sees a batch of enrollments at its node (all arriving, or all resuming after a
wait) and answers, for each, where it goes: `Go(port)` along an arrow, `Wait(until)` here,
or `End(converted=...)`. It reads in set-based queries and writes through `ctx` (which the
tick flushes in bulk, and a dry run discards), so one node costs a fixed number of queries
per batch, not per lead.
"""

# The handler modules register themselves on the registry when imported: all of them here, so
# whoever imports the package (the tick, a dry run) finds every kind.
from nurture.services.nodes import branch, effects, email, goal, split, wait  # noqa: F401
from nurture.services.nodes.base import (
    Context,
    End,
    Go,
    Handler,
    NodeNames,
    Outcome,
    Registry,
    Visit,
    Wait,
    registry,
)

__all__ = [
    "Context",
    "End",
    "Go",
    "Handler",
    "NodeNames",
    "Outcome",
    "Registry",
    "Visit",
    "Wait",
    "registry",
]
