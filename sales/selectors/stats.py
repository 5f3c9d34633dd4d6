"""Medians: PostgreSQL computes them (percentile_cont); SQLite (`make run`) gets Python's."""

import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, DurationField, F, Model, QuerySet


class Median(Aggregate):
    """The median of an interval, as PostgreSQL's ordered-set aggregate computes it."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False
    output_field = DurationField()


def database_has_median() -> bool:
    return connection.vendor == "postgresql"


def python_median(values: Iterable[timedelta | None]) -> timedelta | None:
    present = sorted(value for value in values if value is not None)
    if not present:
        return None
    middle = statistics.median(value.total_seconds() for value in present)
    return timedelta(seconds=middle)


def medians_by(
    rows: QuerySet[Model], *, key: str, start: str, end: str
) -> dict[Hashable, timedelta | None]:
    """Median of `end - start` per `key` over `rows`, leaving out rows where either is null."""
    rows = rows.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
    if database_has_median():
        return dict(
            rows.values(key)
            .annotate(median=Median(F(end) - F(start)))
            .order_by()
            .values_list(key, "median")
        )
    grouped: dict[Hashable, list[timedelta]] = defaultdict(list)
    for group, started, ended in rows.values_list(key, start, end).iterator(2000):
        grouped[group].append(ended - started)
    return {group: python_median(values) for group, values in grouped.items()}


def grouped_with_median(
    rows: QuerySet[Model], *, key: str, start: str, end: str, **aggregates: Aggregate
) -> dict[Hashable, dict[str, Any]]:
    """Per `key`: the `aggregates` and "median" (of `end - start`, rows with both set) in
    one grouped query on PostgreSQL (percentile_cont skips the NULL intervals); SQLite adds
    `medians_by`'s read."""
    if database_has_median():
        aggregates["median"] = Median(F(end) - F(start))
    grouped = {row[key]: row for row in rows.values(key).annotate(**aggregates).order_by()}
    if not database_has_median():
        for group, median in medians_by(rows, key=key, start=start, end=end).items():
            grouped.setdefault(group, {key: group})["median"] = median
    return grouped
