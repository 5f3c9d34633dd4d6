"""HTTP load from Debian's `wrk`, a C load generator, scripted in Lua.

A Python load generator sits at one CPU long before gunicorn does on the bare view, which
made the baseline a client ceiling and flattered every ratio against it; wrk is far from
its own limit at these rates. Each script's `done` writes one JSON report to stderr:
requests, seconds, status and socket errors, the responses its `response` check rejected,
and wrk's own latency percentiles.
"""

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .output import BenchFailure, label

_REPORT = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
unexpected = 0
first_unexpected = ""
function done(summary, latency, requests)
  local rejected, first = 0, ""
  for _, thread in ipairs(threads) do
    rejected = rejected + (thread:get("unexpected") or 0)
    if first == "" then first = thread:get("first_unexpected") or "" end
  end
  io.stderr:write(string.format(
    'WRK_REPORT {"requests": %d, "seconds": %f, "non_2xx_3xx": %d, "socket_errors": %d, '
    .. '"unexpected": %d, "first_unexpected": "%s", "p50_ms": %f, "p95_ms": %f, '
    .. '"p99_ms": %f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    rejected, first, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
function reject(status)
  unexpected = unexpected + 1
  if first_unexpected == "" then first_unexpected = "HTTP " .. status end
end
"""

# Each request a new address (a counter per thread), the rest of the form as one GET gave it.
_FORM_POST = """
local counter = 0
request = function()
  counter = counter + 1
  local body = BODY .. "&email=wrk-" .. id .. "-" .. counter .. "%40example.com"
  return wrk.format("POST", PATH, HEADERS, body)
end
response = function(status, headers, body)
  local location = headers["Location"] or ""
  if status ~= 302 or location:sub(1, #REDIRECT) ~= REDIRECT then reject(status) end
end
"""

# A path drawn from PATHS for each request; a response counts when it is a 200 holding CHECK.
_PAGES = """
math.randomseed(7)
request = function()
  return wrk.format("GET", PATHS[math.random(#PATHS)], HEADERS)
end
response = function(status, headers, body)
  if status ~= 200 or not body:find(CHECK, 1, true) then reject(status) end
end
"""


def _lua(value: str | list[str] | dict[str, str]) -> str:
    """A Lua literal: a string, or a table of a list's or a dict's strings."""
    if isinstance(value, dict):
        items = ", ".join(f"[{_lua(key)}] = {_lua(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "{" + ", ".join(map(_lua, value)) + "}"
    # Byte by byte, anything but printable ASCII as a decimal escape: wrk's LuaJIT knows no
    # \u escapes, and the page titles hold an em dash.
    return (
        '"'
        + "".join(
            chr(byte) if 32 <= byte < 127 and byte not in b'"\\' else f"\\{byte:03d}"
            for byte in value.encode()
        )
        + '"'
    )


def form_post_script(*, path: str, body: str, headers: dict[str, str], redirect: str) -> str:
    """POSTs of `body` plus a fresh `email` each, expecting a 302 to `redirect` (a prefix)."""
    return (
        f"PATH = {_lua(path)}\nBODY = {_lua(body)}\nHEADERS = {_lua(headers)}\n"
        f"REDIRECT = {_lua(redirect)}\n{_REPORT}{_FORM_POST}"
    )


def pages_script(*, paths: list[str], headers: dict[str, str], check: str) -> str:
    return (
        f"PATHS = {_lua(paths)}\nHEADERS = {_lua(headers)}\nCHECK = {_lua(check)}\n"
        f"{_REPORT}{_PAGES}"
    )


@dataclass(frozen=True)
class Report:
    requests: int
    seconds: float
    non_2xx_3xx: int
    socket_errors: int
    unexpected: int  # responses the script's check rejected (a status error counts here too)
    first_unexpected: str
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        """Responses that passed the script's check."""
        return self.requests - max(self.unexpected, self.non_2xx_3xx)

    def problem(self, name: str) -> str:
        if not (self.non_2xx_3xx or self.socket_errors or self.unexpected):
            return ""
        return (
            f"{name}: {self.non_2xx_3xx} non-2xx/3xx, {self.socket_errors} socket errors, "
            f"{self.unexpected} rejected by the check (first: {self.first_unexpected or '-'})"
        )

    def line(self, name: str, note: str) -> str:
        return (
            f"{label(name)}requests/s={self.requests_per_second:<8.1f}p50={self.p50_ms:.1f}ms "
            f"p95={self.p95_ms:.1f}ms p99={self.p99_ms:.1f}ms  {note}"
        )


def require() -> None:
    if shutil.which("wrk") is None:
        raise BenchFailure("this figure needs wrk: run 'sudo apt-get install wrk'")


def run(
    url: str, *, seconds: float, connections: int, script: str | None = None, threads: int = 2
) -> Report:
    """wrk against `url` for `seconds` with `connections` open connections: GETs of it, or
    what `script` (form_post_script, pages_script) sends."""
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-wrk-") as tmp:
        script_path = Path(tmp) / "script.lua"
        script_path.write_text(script or _REPORT)
        done = subprocess.run(
            [
                "wrk",
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                str(script_path),
                url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
    found = re.search(r"^WRK_REPORT (\{.*\})$", done.stderr, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise BenchFailure(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return Report(**json.loads(found.group(1)))
