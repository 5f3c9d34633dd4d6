"""Who used the CPUs over a phase, and how much memory a process tree held, through psutil.

On a small shared machine a test run in another terminal can halve one phase and not the
other; the CPU window makes such a run visible instead of silently skewing a ratio, and
gives the CPU per request or per email, steadier than rates on a busy machine.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import psutil

from .output import log
from .postgres import backend_pids, postmaster_pid

# Of the 2 CPUs the figures are meant for: beyond this, a phase was measurably disturbed.
NOISY_CPUS = 0.2


def descendants(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def tree(roots: Iterable[int]) -> list[int]:
    """The roots and all their descendants."""
    return [pid for root in roots for pid in (root, *descendants(root))]


def _cpu_seconds(pid: int) -> float | None:
    """CPU time a live process has used so far, its threads included."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def _reaped_seconds(pid: int | None) -> float:
    """CPU of the exited children `pid` has waited for, e.g. the postmaster's closed
    connections or a prefork worker's recycled children."""
    if pid is None:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.children_user + times.children_system


def _own_seconds() -> float:
    """This process's CPU and that of the children it reaped (wrk, a finished driver)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _busy_seconds() -> float:
    """CPU time the whole machine has spent not idle, over all CPUs."""
    times = psutil.cpu_times()
    return sum(
        getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")
    )


class CpuWindow:
    """CPU use over a phase: this process (the sink, and the load generator it ran and
    reaped), the system under test (`roots` and their descendants), PostgreSQL, and
    everything else on the machine.

    Processes are looked up again when the window closes: workers open their database
    connections at their first task, inside the window. A process born inside the window
    counts from zero. PostgreSQL's share is the bench database's connections plus those
    that closed inside the window (the postmaster's reaped children, of any database, less
    what they had used before it): the app opens one connection per task. Children of the
    roots that exit inside the window (a multiprocessing pool, a recycled prefork child)
    count through their parent's reaped-children time.
    """

    def __init__(self, name: str, *, roots: list[int], db_url: str) -> None:
        self.name, self._roots, self._db_url = name, roots, db_url
        self.note = ""
        # CPU seconds of the system under test and of PostgreSQL over the window.
        self.tested_seconds = self.database_seconds = 0.0
        self.other_cpus = 0.0
        self._before: dict[int, float] = {}
        self._backends_before: dict[int, float] = {}
        self._roots_reaped = 0.0
        self._started = (0.0, 0.0, 0.0, 0.0)
        self._postmaster = postmaster_pid(db_url)

    def _backends(self) -> dict[int, float]:
        if self._postmaster is None:
            return {}
        return self._per_pid(descendants(self._postmaster))

    @staticmethod
    def _per_pid(pids: list[int]) -> dict[int, float]:
        return {pid: seconds for pid in pids if (seconds := _cpu_seconds(pid)) is not None}

    def _sample(self) -> tuple[float, float, float, float]:
        return (
            time.monotonic(),
            _own_seconds(),
            _busy_seconds(),
            _reaped_seconds(self._postmaster),
        )

    def __enter__(self) -> "CpuWindow":
        self._before = self._per_pid(tree(self._roots) + backend_pids(self._db_url))
        self._backends_before = self._backends()
        self._roots_reaped = sum(map(_reaped_seconds, self._roots))
        self._started = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, own, busy, reaped = (
            after - before for before, after in zip(self._started, self._sample(), strict=True)
        )
        if wall <= 0 or busy < 0:
            return

        def used(pids: list[int]) -> float:
            return sum(
                max(seconds - self._before.get(pid, 0.0), 0.0)
                for pid, seconds in self._per_pid(pids).items()
            )

        alive = self._backends()
        closed = max(
            reaped
            - sum(seconds for pid, seconds in self._backends_before.items() if pid not in alive),
            0.0,
        )
        tested = used(tree(self._roots)) + max(
            sum(map(_reaped_seconds, self._roots)) - self._roots_reaped, 0.0
        )
        database = used(backend_pids(self._db_url)) + closed
        self.tested_seconds, self.database_seconds = tested, database
        self.other_cpus = max(busy - own - tested - database, 0.0) / wall
        log(
            f"{self.name}: CPUs used by the bench process (sink, load generator) "
            f"{own / wall:.2f}, system under test {tested / wall:.2f}, postgres "
            f"{database / wall:.2f} (of which closed connections {closed / wall:.2f}), "
            f"other processes {self.other_cpus:.2f}"
        )
        if self.other_cpus >= NOISY_CPUS:
            self.note = f"  [noisy: other processes used {self.other_cpus:.1f} CPUs]"

    def per_unit(self, count: int) -> str:
        """CPU of the system under test and of PostgreSQL per request or per email."""
        count = max(count, 1)
        return (
            f"{self.tested_seconds * 1000 / count:.2f} ms + postgres "
            f"{self.database_seconds * 1000 / count:.2f} ms"
        )


def memory_bytes(pid: int) -> dict[str, int]:
    """RSS, PSS and USS of one process (psutil's `memory_full_info`, from
    /proc/<pid>/smaps_rollup on Linux)."""
    try:
        info = psutil.Process(pid).memory_full_info()
    except psutil.Error:
        return {}  # exited between listing and reading
    return {"rss": info.rss, "pss": info.pss, "uss": info.uss}


class PeakMemory:
    """Peaks, over 0.5 s samples, of a process tree's memory summed three ways.

    Summed RSS (resident set size, one process after another) is the figure the target is
    set in: it counts every page each process maps, so a copy-on-write page a prefork child
    shares with its parent counts once per process. PSS (proportional set size: such a page
    counts 1/n in each of the n) is what the processes use between them, and summed USS
    (pages no other process maps) leaves shared ones out. With the threads pool there is
    one process and the three nearly agree. Each peak is the largest sum in one sample.
    """

    KINDS = ("pss", "uss", "rss")

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self._pids = pids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = dict.fromkeys(self.KINDS, 0)
        self.processes = 0  # the most processes in one sample

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._pids()
            totals = Counter[str]()
            for pid in pids:
                totals.update(memory_bytes(pid))
            for kind in self.KINDS:
                self.peak[kind] = max(self.peak[kind], totals[kind])
            self.processes = max(self.processes, len(pids))
            self._stop.wait(0.5)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
