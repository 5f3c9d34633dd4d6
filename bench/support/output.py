"""How a figure reports: progress on stderr, its lines returned, a failure with the lines
measured before it broke."""

import sys
from dataclasses import dataclass


class BenchFailure(Exception):
    """The run cannot give trustworthy figures; `lines` are those measured before it broke."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


@dataclass(frozen=True)
class Options:
    duration: float  # seconds of each wrk load phase (BENCH_DURATION)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def label(name: str) -> str:
    """A figure line's name column."""
    return f"{name:<26}"
