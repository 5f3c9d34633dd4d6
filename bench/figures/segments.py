"""segments.count_1m: a segment's member count (three nested groups and an activity
condition with a count and a window) and one changed lead's re-evaluation against five saved
segments, on the sales bench's database (1,000,000 leads, 10,000,000 activities; filled as
`sales.dashboard_1m` fills it, or reused with BENCH_SALES_REUSE=1).

Targets (issue 15): the count under 1 s, the re-evaluation under 10 ms. The baselines in the
same run: a plain `SELECT count(*) FROM capture_lead` for the count; for the re-evaluation,
the same `refresh_lead` compiling every tree through the ORM on each call (alternated with
the real one lead by lead).
"""

import json
import os
import tempfile
from pathlib import Path

from ..support import postgres, stack
from ..support.output import BenchFailure, Options, log
from . import sales

TARGET_COUNT_MS = 1000.0
TARGET_REFRESH_MS = 10.0


def count_1m(options: Options) -> list[str]:
    leads = stack.env_int("BENCH_SALES_LEADS", 1_000_000)
    url = os.environ.get("BENCH_SALES_DATABASE_URL", sales.DEFAULT_DATABASE_URL)
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-segments-") as tmp:
        env = stack.server_env(database_url=url, var_dir=Path(tmp))
        if os.environ.get("BENCH_SALES_REUSE") == "1" and sales.filled(url, leads):
            log(f"segments: reusing the {leads:,} leads already in {url}")
            stack.manage(env, "migrate", "--noinput", "-v0")
        else:
            log(f"segments: recreating {url}, migrate, seed_demo, {leads:,} leads")
            postgres.recreate_database(url)
            stack.manage(env, "migrate", "--noinput", "-v0")
            stack.manage(env, "seed_demo")
            sales.fill(url, leads)
        result = json.loads(stack.run_driver(env, "segments", "--repeats", "5", "--leads", "200"))
    if len(result["count"]) != 1:
        raise BenchFailure(f"segments: the count changed between runs: {result['count']}")
    count_ms, refresh_ms = result["count_ms"], result["refresh_ms"]
    return [
        f"segments.count_1m        {count_ms:.0f} ms to count {result['count'][0]:,} members of "
        f"{result['leads']:,} leads (3 nested groups + an activity count in a window)  plain "
        f"count(*) {result['plain_count_ms']:.0f} ms (baseline)  ratio="
        f"{count_ms / max(result['plain_count_ms'], 0.001):.1f}  target < "
        f"{TARGET_COUNT_MS:g} ms {'met' if count_ms < TARGET_COUNT_MS else 'MISSED'}",
        f"segments.refresh_lead    median {refresh_ms:.1f} ms, p95 "
        f"{result['refresh_p95_ms']:.1f} ms to re-evaluate one changed lead against "
        f"{result['segments']} saved segments ({result['refreshed']} leads)  compiling every "
        f"tree each call {result['compiling_refresh_ms']:.1f} ms (baseline)  speed-up="
        f"{result['compiling_refresh_ms'] / max(refresh_ms, 0.001):.1f}  target < "
        f"{TARGET_REFRESH_MS:g} ms {'met' if refresh_ms < TARGET_REFRESH_MS else 'MISSED'}",
    ]
