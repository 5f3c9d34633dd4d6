"""The one percentile every figure reports."""

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: int) -> float:
    """The `pct`th percentile (1-99) of `values`, interpolated between the nearest samples;
    NaN when there are none, the sample itself when there is one."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
