"""A burst of form submissions from many concurrent clients, some reusing emails.

Shared by capture.load_10k and tests/reliability/test_load.py (a smaller run). Knows
nothing of the app but its HTML form: a GET for the CSRF cookie and the form's fields,
then POSTs.

It stays on httpx, not wrk: the figure is a fixed number of submissions whose every answer
is accounted for (which addresses got a 302, so that the stored leads can be compared with
them exactly), and wrk runs for a duration, with requests still in flight when it stops
and no way to tell which addresses those were.
"""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from .forms import read_form
from .stats import percentile


@dataclass
class BurstResult:
    total: int
    elapsed: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    transport_errors: int = 0
    emails: set[str] = field(default_factory=set)
    successes: int = 0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def per_second(self) -> float:
        return self.successes / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, pct: int) -> float:
        return percentile(self.latencies, pct) * 1000

    def summary(self) -> str:
        return (
            f"submissions={self.total} clients ok={self.successes} "
            f"per_s={self.per_second:.1f} p50={self.percentile_ms(50):.0f}ms "
            f"p95={self.percentile_ms(95):.0f}ms p99={self.percentile_ms(99):.0f}ms "
            f"5xx={self.server_errors} no_response={self.transport_errors}"
        )


def email_for(index: int, *, reuse_every: int = 5) -> str:
    """One submission in `reuse_every` repeats an earlier address (20% by default)."""
    if index % reuse_every == reuse_every - 1:
        return f"load{index - 1}@example.com"
    return f"load{index}@example.com"


async def _client(
    base_url: str, path: str, indexes: list[int], fields: dict[str, str], result: BurstResult
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as client:
        page = await client.get(path)
        form = read_form(page.text).fields
        for index in indexes:
            email = email_for(index)
            started = time.perf_counter()
            try:
                response = await client.post(path, data={**form, **fields, "email": email})
            except httpx.HTTPError:
                result.transport_errors += 1
                continue
            result.statuses[response.status_code] += 1
            if response.status_code == 302:
                result.latencies.append(time.perf_counter() - started)
                result.successes += 1
                result.emails.add(email)


async def _burst(
    base_url: str, path: str, total: int, concurrency: int, fields: dict[str, str]
) -> BurstResult:
    result = BurstResult(total=total)
    shares = [list(range(worker, total, concurrency)) for worker in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(_client(base_url, path, share, fields, result) for share in shares))
    result.elapsed = time.perf_counter() - started
    return result


def submit_burst(
    *, base_url: str, path: str, total: int, concurrency: int, fields: dict[str, str]
) -> BurstResult:
    return asyncio.run(_burst(base_url, path, total, concurrency, fields))
