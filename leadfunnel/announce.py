"""Announcing a fact to the other apps: one way, for every app (DESIGN.md, "signals").

A fact is announced once the write it reports is committed (`announce_on_commit`), to every
receiver, each on its own: a receiver that raises is logged with the lead (or leads) it was
about and the next receiver still runs (`send_robust`). Nothing a receiver does can undo the
write or turn an answered request into a 500: the lead is in the database, and the
receiver's own work (an enrollment, a webhook event) is the part that is missing, named in
the log.

Receivers are therefore one-liners that call a service; they catch nothing themselves.

The one deliberate exception is `lead_captured` (capture/processing.py): the outbox worker
sends it with a plain `send` inside the transaction that stamps the submission processed,
so a receiver that raises rolls the stamp back with whatever the receivers wrote, and the
outbox tick announces the submission again (up to its attempts). There the announcement is
the durable work itself, retried until it is done, not a follow-up of a request that must
stay answered.
"""

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

Replies = list[tuple[Any, Any]]
# A fact about many leads names this many of them in a failure's log line, then the count.
LEADS_NAMED = 20


def announce(signal: Signal, sender: Any, **facts: Any) -> Replies:
    """Send `signal` now, to every receiver; log each failure with the lead's id.

    For a caller already past the commit (an on-commit callback, a worker); anyone else
    calls `announce_on_commit`.
    """
    replies = signal.send_robust(sender=sender, **facts)
    for receiver, reply in replies:
        if isinstance(reply, Exception):
            logger.error(
                "Receiver %s.%s of a %s fact failed for %s",
                getattr(receiver, "__module__", "?"),
                getattr(receiver, "__qualname__", repr(receiver)),
                getattr(sender, "__name__", sender),
                _about(facts),
                exc_info=(type(reply), reply, reply.__traceback__),
            )
    return replies


def announce_on_commit(signal: Signal, sender: Any, **facts: Any) -> None:
    """Announce the fact once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: announce(signal, sender, **facts))


def _about(facts: dict[str, Any]) -> str:
    """Whom the fact was about, for the log line: the lead, or the leads (and the segment,
    for a segment's joins and leaves)."""
    if "lead_id" in facts:
        about = f"lead {facts['lead_id']}"
    elif "lead_ids" in facts:
        about = _leads(list(facts["lead_ids"]))
    elif "entries" in facts:
        about = _leads([lead_id for _enrollment_id, lead_id in facts["entries"]])
    else:
        about = "no lead"
    if "segment_id" in facts:
        about += f" (segment {facts['segment_id']})"
    return about


def _leads(lead_ids: list[int]) -> str:
    named = ", ".join(str(lead_id) for lead_id in lead_ids[:LEADS_NAMED])
    more = f", … ({len(lead_ids)} in all)" if len(lead_ids) > LEADS_NAMED else ""
    return f"leads {named}{more}"
