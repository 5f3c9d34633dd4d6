"""Per-token (per-user) and per-address request limits that fail open.

DRF's throttles keep their history in the cache (Redis). When Redis does not answer, a
request goes through unthrottled rather than failing: losing a lead is worse than a burst.
"""

import logging
from typing import TYPE_CHECKING

from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request: Request, view: "APIView") -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except Exception:  # the cache backend's connection errors vary by client library
            logger.warning("API throttle skipped: the cache did not answer", exc_info=True)
            return True


class TokenRateThrottle(_FailOpen, UserRateThrottle):
    """Keyed by the authenticated user, so each integration token has its own budget."""


class AddressRateThrottle(_FailOpen, AnonRateThrottle):
    """Anonymous callers (the public capture and tracking endpoints), keyed by address."""
