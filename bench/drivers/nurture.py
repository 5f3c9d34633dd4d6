"""The parts of the nurture figures that run inside Django or apart from the bench process.

The figures (bench/figures/nurture_*.py) run this as a subprocess (`python -m
bench.drivers.nurture COMMAND ...`) with the bench's environment, so the bench process
itself never imports the app. Each command prints one JSON object on stdout.
"""

import argparse
import base64
import json
import os
import signal
import smtplib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")
    django.setup()


def tick(*, repeats: int, expect: int) -> dict[str, Any]:
    """Time `hand_out_due` without publishing, `repeats` times after one untimed run.

    Between runs the claimed rows go back to `scheduled`, so every run claims the same
    amount of work from the same table.
    """
    _setup_django()
    from nurture.models import Delivery
    from nurture.services import dispatching, scheduling

    dispatching.hand_out = lambda **kwargs: 0  # type: ignore[assignment]
    parts: dict[str, float] = {}

    def timed(module: ModuleType, name: str) -> None:
        original: Callable[..., Any] | None = getattr(module, name, None)
        if original is None:
            return

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

        setattr(module, name, wrapper)

    # hand_out_due looks these up at call time, so wrapping the module attribute times them.
    for module, name in (
        (dispatching, "reclaim_stale"),
        (scheduling, "expire_unconfirmed"),
        (dispatching, "sending_allowance"),
        (dispatching, "_fair_shares"),
        (dispatching, "claim_due_deliveries"),
    ):
        timed(module, name)

    runs: list[dict[str, Any]] = []
    for _ in range(repeats + 1):
        Delivery.objects.filter(status=Delivery.Status.QUEUED).update(
            status=Delivery.Status.SCHEDULED
        )
        parts.clear()
        started = time.perf_counter()
        result = dispatching.hand_out_due()
        elapsed = time.perf_counter() - started
        runs.append({"total": elapsed, "claimed": len(result.claimed), "parts": dict(parts)})
    Delivery.objects.filter(status=Delivery.Status.QUEUED).update(status=Delivery.Status.SCHEDULED)
    short = [run["claimed"] for run in runs if run["claimed"] != expect]
    return {"runs": runs[1:], "short": short}


def dispatch(*, low_water: int) -> None:
    """Stand-in for beat: call `hand_out_due` whenever fewer than `low_water` rows wait in
    the broker, until SIGTERM; then print what was claimed and reclaimed."""
    _setup_django()
    from nurture.models import Delivery
    from nurture.services import dispatching

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    ticks = claimed = reclaimed = 0
    while not stopping:
        if Delivery.objects.filter(status=Delivery.Status.QUEUED).count() >= low_water:
            # 500 queued rows last the worker over a second: a count every 0.1 s keeps it
            # fed without the poll taking CPU from it on a 2-core machine.
            time.sleep(0.1)
            continue
        result = dispatching.hand_out_due()
        ticks += 1
        claimed += len(result.claimed)
        reclaimed += result.reclaimed
        if not result.claimed:
            time.sleep(0.1)
    print(json.dumps({"ticks": ticks, "claimed": claimed, "reclaimed": reclaimed}), flush=True)


def smtp_loop(*, messages: Path, host: str, port: int) -> None:
    """The baseline sender: the same messages, one after another, over one connection.

    Prints "ready" once connected and waits for a line on stdin before sending, and after
    printing the result waits for stdin to close: the caller's CPU window then holds the
    loop and nothing of this process's startup, and the process is still there to measure.
    """
    envelopes = [
        (mail_from, recipients, base64.b64decode(content))
        for mail_from, recipients, content in json.loads(messages.read_text())
    ]
    with smtplib.SMTP(host, port, timeout=30) as client:
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.perf_counter()
        for mail_from, recipients, content in envelopes:
            client.sendmail(mail_from, recipients, content)
        elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed": elapsed, "sent": len(envelopes)}), flush=True)
    sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    tick_args = commands.add_parser("tick")
    tick_args.add_argument("--repeats", type=int, default=5)
    tick_args.add_argument("--expect", type=int, required=True)
    dispatch_args = commands.add_parser("dispatch")
    dispatch_args.add_argument("--low-water", type=int, required=True)
    loop_args = commands.add_parser("smtp-loop")
    loop_args.add_argument("messages", type=Path)
    loop_args.add_argument("--host", default="127.0.0.1")
    loop_args.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "tick":
        print(json.dumps(tick(repeats=args.repeats, expect=args.expect)), flush=True)
    elif args.command == "dispatch":
        dispatch(low_water=args.low_water)
    else:
        smtp_loop(messages=args.messages, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
