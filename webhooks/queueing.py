"""Enqueueing webhooks' task by name, so services never import tasks (as nurture.queueing).

The broker only carries "deliver N now": which rows are due lives in PostgreSQL, so what the
broker refuses is put back for beat's next tick by the caller.
"""

import logging
from collections.abc import Sequence

from leadfunnel.queueing import enqueue

logger = logging.getLogger(__name__)
DELIVER = "webhooks.tasks.deliver_webhook"


def deliver_soon(*, delivery_ids: Sequence[int]) -> int:
    """One message per delivery; how many the broker took before it refused one."""
    for index, delivery_id in enumerate(delivery_ids):
        try:
            enqueue(DELIVER, delivery_id)
        except Exception:
            # Broad on purpose: kombu and redis raise many kinds when the broker is down.
            logger.warning(
                "Broker unreachable; %s webhook deliveries left for beat",
                len(delivery_ids) - index,
                exc_info=True,
            )
            return index
    return len(delivery_ids)
