"""The one retry backoff: exponential, capped, with jitter; for webhooks and emails alike."""

import random


def backoff_seconds(
    *, attempts: int, base: float, cap: float, jitter: float = 0.2, draw: float | None = None
) -> float:
    """Wait after the `attempts`-th failure: base × 2^(attempts−1), at most `cap`, then
    lengthened by up to `jitter` (a fraction: 0.2 adds 0–20 %).

    The jitter spreads the retries of many sends that failed together (a receiver's outage)
    so they do not all come back in the same second. `draw` (0–1) replaces the random draw
    where a caller or a test needs the wait to be known.
    """
    draw = random.random() if draw is None else draw  # noqa: S311 (not a secret)
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return float(delay * (1 + jitter * draw))
