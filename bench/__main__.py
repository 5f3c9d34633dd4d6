"""`make bench`: performance figures, each beside a baseline measured in the same run.

Every figure in FIGURES returns its output lines. Progress goes to stderr, figures to
stdout; the exit status is non-zero when any figure could not be trusted.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable

from .figures import (
    capture,
    import_csv,
    journeys,
    nurture_scale,
    nurture_send,
    nurture_speed,
    nurture_tick,
    sales,
    scoring,
    segments,
)
from .support.output import BenchFailure, Options, log

Figure = Callable[[Options], list[str]]
FIGURES: dict[str, Figure] = {
    "capture": capture.capture,
    "capture.load_10k": capture.load_10k,
    "nurture.tick_flat": nurture_tick.tick_flat,
    "nurture.send_throughput": nurture_send.send_throughput,
    "nurture.speed_to_lead": nurture_speed.speed_to_lead,
    "nurture.scale_100k": nurture_scale.scale,
    "journeys.tick_100k": journeys.tick_100k,
    "journeys.tick_sparse": journeys.tick_sparse,
    "scoring.decay_1m": scoring.decay_1m,
    "integrations.import_100k": import_csv.import_100k,
    "sales.dashboard_1m": sales.dashboard_1m,
    "segments.count_1m": segments.count_1m,
}


def _duration() -> float:
    raw = os.environ.get("BENCH_DURATION", "10")
    try:
        duration = float(raw)
    except ValueError:
        duration = 0.0
    if duration <= 0:
        sys.exit(f"BENCH_DURATION must be a positive number of seconds, not {raw!r}")
    return duration


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(FIGURES),
        metavar="NAME",
        help=f"run only this figure (repeatable): {', '.join(sorted(FIGURES))}",
    )
    args = parser.parse_args(argv)
    options = Options(duration=_duration())
    failed = []
    for name in args.only or list(FIGURES):
        started = time.monotonic()
        try:
            lines = FIGURES[name](options)
        except BenchFailure as exc:
            lines = exc.lines
            failed.append(f"{name}: {exc}")
        for line in lines:
            print(line, flush=True)
        log(f"{name} took {time.monotonic() - started:.0f} s")
    for failure in failed:
        print(f"\n!!! BENCH FAILED !!! {failure}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
