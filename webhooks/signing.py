"""Stripe-style signatures: `X-Leadfunnel-Signature: t=<unix seconds>,v1=<hex>`.

v1 is HMAC-SHA256 with the endpoint's secret over f"{t}.{raw body}". A receiver recomputes it
from the raw bytes it got (before parsing the JSON), compares in constant time, and refuses a
`t` older than a few minutes so a captured request cannot be replayed later.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Leadfunnel-Signature"
# What receivers should accept by default; `verify` takes its own.
DEFAULT_TOLERANCE_SECONDS = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret=secret, timestamp=timestamp, body=body)}"


def verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (in Python): True when `header` signs `body` recently enough."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
