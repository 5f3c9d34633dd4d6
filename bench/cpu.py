"""How much CPU processes outside the bench took during a phase (Linux /proc only).

On a small shared machine a test run in another terminal can halve one phase and not the
other; this makes such a run visible instead of silently skewing the ratio.
"""

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def _busy_ticks() -> int:
    # cpu user nice system idle iowait irq softirq steal ...
    fields = [int(value) for value in (_PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def _process_ticks(pid: int) -> int | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # After the ")" closing the command name: state is field 3, utime/stime fields 14/15.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time the live ones among `pids` have used so far, threads included."""
    return sum(ticks for ticks in map(_process_ticks, pids) if ticks is not None) / _TICKS


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            children = (_PROC / str(parent) / "task" / str(parent) / "children").read_text()
        except OSError:
            continue
        for child in map(int, children.split()):
            found.append(child)
            queue.append(child)
    return found


@dataclass(frozen=True)
class Shares:
    """CPUs kept busy over a window (1.0 = one core), by who used them."""

    load_generator: float
    web: float
    database: float
    others: float


class Usage:
    """CPU use over a window: this process (the load generator), the web server's and the
    database's processes, and everything else on the machine."""

    def __init__(self, *, web: Iterable[int], database: Iterable[int]) -> None:
        self._web, self._database = list(web), list(database)
        self._before: tuple[float, ...] = ()
        self.shares: Shares | None = None

    def _sample(self) -> tuple[float, ...]:
        return (
            time.monotonic(),
            time.process_time(),
            cpu_seconds(self._web),
            cpu_seconds(self._database),
            _busy_ticks() / _TICKS,
        )

    def start(self) -> None:
        if (_PROC / "stat").exists():
            self._before = self._sample()

    def stop(self) -> None:
        if not self._before:
            return
        wall, client, web, database, busy = (
            max(after - before, 0.0)
            for before, after in zip(self._before, self._sample(), strict=True)
        )
        others = max(busy - client - web - database, 0.0)
        self.shares = Shares(client / wall, web / wall, database / wall, others / wall)
