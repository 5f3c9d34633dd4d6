"""A closed-loop HTTP load generator: N workers on one httpx.AsyncClient, for a duration."""

import asyncio
import html
import re
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

# One request of a worker; built once per worker by a Setup (which may fetch a form first).
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
Setup = Callable[[httpx.AsyncClient], Awaitable[Send]]
Check = Callable[[httpx.Response], bool]


class Window(Protocol):
    """Told when the timed window opens and closes, e.g. to sample CPU use over it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


_FIELD_ERROR = re.compile(r'id="error_\d+_id_([\w-]+)"><strong>(.*?)</strong>', re.DOTALL)


@dataclass
class PhaseResult:
    name: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: int = 0
    transport_errors: int = 0
    first_error: str = ""
    aborted: bool = False
    # CPUs used by processes outside the bench meanwhile, when the caller measured it.
    other_cpus: float | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        """Responses outside 2xx/3xx plus requests that got no response at all."""
        failed = sum(n for status, n in self.statuses.items() if not 200 <= status < 400)
        return failed + self.transport_errors

    @property
    def requests_per_second(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, pct: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[pct - 1] * 1000


def _describe(response: httpx.Response) -> str:
    head = f"HTTP {response.status_code} {response.request.method} {response.request.url}"
    if location := response.headers.get("Location"):
        return f"{head} -> {location}"
    body = response.text
    # A re-rendered Django form names what it rejected next to each field (crispy markup).
    errors = [f"{field}: {html.unescape(message)}" for field, message in _FIELD_ERROR.findall(body)]
    if errors:
        return f"{head}; form errors: {'; '.join(errors)}"
    at = max(body.find('id="form-errors"'), 0)
    return f"{head}\n{' '.join(body[at : at + 1500].split())}"


async def _worker(
    client: httpx.AsyncClient,
    send: Send,
    *,
    check: Check,
    deadline: float,
    stop: asyncio.Event,
    result: PhaseResult,
) -> None:
    while not stop.is_set() and time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            response = await send(client)
        except httpx.TransportError as exc:
            result.transport_errors += 1
            result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
            continue
        latency = time.perf_counter() - started
        result.statuses[response.status_code] += 1
        if check(response):
            result.latencies.append(latency)
            continue
        result.unexpected += 1
        result.first_error = result.first_error or _describe(response)
        if response.status_code == 400:
            # A 400 is our payload's fault, not load: every further request would be wasted.
            result.aborted = True
            stop.set()


async def _run(
    name: str,
    base_url: str,
    *,
    setup: Setup,
    check: Check,
    duration: float,
    concurrency: int,
    window: Window | None,
) -> PhaseResult:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, http1=True, http2=False, limits=limits, timeout=30, trust_env=False
    ) as client:
        # Untimed, so the measured window holds only the requests under test.
        sends = await asyncio.gather(*(setup(client) for _ in range(concurrency)))
        result = PhaseResult(name)
        stop = asyncio.Event()
        if window:
            window.start()
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(
            *(
                _worker(client, send, check=check, deadline=deadline, stop=stop, result=result)
                for send in sends
            )
        )
        result.elapsed = time.perf_counter() - started
        if window:
            window.stop()
    return result


def run_phase(
    name: str,
    base_url: str,
    *,
    setup: Setup,
    check: Check,
    duration: float,
    concurrency: int,
    window: Window | None = None,
) -> PhaseResult:
    return asyncio.run(
        _run(
            name,
            base_url,
            setup=setup,
            check=check,
            duration=duration,
            concurrency=concurrency,
            window=window,
        )
    )
