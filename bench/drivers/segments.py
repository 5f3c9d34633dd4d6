"""segments.count_1m's Django side: time a segment's member count and one lead's
re-evaluation on the sales bench's database (`bench/figures/segments.py` runs this as a
subprocess, `python -m bench.drivers.segments`; prints one JSON object). Also run at a tiny
size by tests/test_bench_smoke.py."""

import json
import statistics
import time
from typing import Any

from ..support.stats import percentile

# Three nested groups and an activity condition with a count and a window, over the sales
# bench's data (its page views are of https://example.com/blog/N).
NESTED = {
    "match": "all",
    "conditions": [
        {"field": "temperature", "op": "in", "value": ["hot", "warm"]},
        {
            "match": "any",
            "conditions": [
                {
                    "field": "activity",
                    "kind": "page_viewed",
                    "url": "*/blog/1*",
                    "op": "at_least",
                    "count": 2,
                    "within_days": 30,
                },
                {
                    "match": "all",
                    "conditions": [
                        {"field": "source", "op": "is", "value": "linkedin"},
                        {"field": "score", "op": "at_least", "value": 50},
                    ],
                },
            ],
        },
    ],
}
# The saved segments a changed lead is re-evaluated against (one query each at most).
SAVED = [
    NESTED,
    {"match": "all", "conditions": [{"field": "temperature", "op": "is", "value": "hot"}]},
    {
        "match": "any",
        "conditions": [
            {
                "field": "activity",
                "kind": "email_clicked",
                "op": "at_least",
                "count": 1,
                "within_days": 14,
            },
            {"field": "score", "op": "at_least", "value": 80},
        ],
    },
    {
        "match": "none",
        "conditions": [
            {
                "field": "activity",
                "kind": "email_opened",
                "op": "at_least",
                "count": 1,
                "within_days": 30,
            },
        ],
    },
    {
        "match": "all",
        "conditions": [
            {"field": "source", "op": "is", "value": "google"},
            {"field": "stage", "op": "is", "value": "sales_ready"},
        ],
    },
]


def setup_django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")
    django.setup()


def _median_ms(runs: list[float]) -> float:
    return statistics.median(runs) * 1000


def measure(*, repeats: int, lead_ids: list[int]) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from segments.models import Segment, SegmentMember
    from segments.selectors import count_matching
    from segments.services import refresh_lead

    now = timezone.now()
    Segment.objects.filter(name__startswith="Bench segment").delete()
    for n, tree in enumerate(SAVED):
        Segment.objects.create(name=f"Bench segment {n}", conditions=tree)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM capture_lead")
        plain = time.perf_counter() - started
        (leads,) = cursor.fetchone()
    counts, count_runs = set(), []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        counts.add(count_matching(tree=NESTED, now=now))
        count_runs.append(time.perf_counter() - started)
    refresh_runs, compiling_runs = [], []
    for index, lead_id in enumerate(lead_ids):
        # Alternating which goes first, so each side writes the memberships half the time.
        sides = [(refresh_runs, refresh_lead), (compiling_runs, _refresh_compiling_each_time)]
        for runs, refresh in sides if index % 2 == 0 else sides[::-1]:
            started = time.perf_counter()
            refresh(lead_id=lead_id, now=now)
            runs.append(time.perf_counter() - started)
    members = SegmentMember.objects.filter(segment__name__startswith="Bench segment").count()
    return {
        "leads": leads,
        "count": sorted(counts),
        "count_ms": _median_ms(count_runs[1:]),
        "count_runs_ms": [round(r * 1000, 1) for r in count_runs[1:]],
        "plain_count_ms": plain * 1000,
        "refresh_ms": _median_ms(refresh_runs[1:] or refresh_runs),
        "refresh_p95_ms": percentile(refresh_runs, 95) * 1000 if refresh_runs else 0.0,
        "refreshed": len(refresh_runs),
        "segments": len(SAVED),
        "members_written": members,
        "compiling_refresh_ms": _median_ms(compiling_runs[1:] or compiling_runs),
    }


def _refresh_compiling_each_time(*, lead_id: int, now: Any) -> None:
    """The baseline: `refresh_lead` with every tree compiled through the ORM on each call
    (as before segments.compiling kept each segment's statement)."""
    from unittest import mock

    from segments import compiling
    from segments.services import refresh_lead

    def compile_now(segment_id: int, tree: Any, *, segments: Any, now: Any) -> Any:
        return compiling._compile_lead_check(tree, now=now)

    with mock.patch.object(compiling, "_lead_check", compile_now):
        refresh_lead(lead_id=lead_id, now=now)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--leads", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    from capture.models import Lead

    ids = list(Lead.objects.order_by("?").values_list("pk", flat=True)[: args.leads])
    print(json.dumps(measure(repeats=args.repeats, lead_ids=ids)), flush=True)


if __name__ == "__main__":
    main()
