"""capture.wrk: the landing page under an ad spike, driven by wrk (a C load generator).

The Python load generator of the `capture` figure is itself the limit on the bare view (it
sits at one CPU), which flatters every ratio against it. Here Debian's `wrk` drives the same
gunicorn (2 workers of 8 threads as gunicorn.conf.py sets them for production, production
settings) for three phases of BENCH_WRK_SECONDS (10) with BENCH_WRK_CONNECTIONS (32)
connections on 2 threads:

- `capture.wrk_bare`: GET /bench/bare/, a view doing nothing behind the full middleware
  stack: the baseline;
- `capture.wrk_landing_get`: GET of the demo landing page, as an ad's click lands (target:
  at least 0.3 of the baseline's requests/s);
- `capture.wrk_form_post`: the page's form POSTed, each request with an address of its own
  (a Lua counter per thread), the CSRF cookie and token and the signed start time taken from
  one GET (target: at least 0.1 of the baseline).

After the POST phase the new Submission rows must number at least the 302s wrk counted (a
request still in flight when the clock stopped may add one per connection).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import stack
from stack import BenchFailure, log

LANDING_PATH = "/l/free-consultation/"
THANKS_PATH = "/l/free-consultation/thanks/"
BARE_PATH = "/bench/bare/"
TARGET_GET = 0.3
TARGET_POST = 0.1
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "32"))

# Each request a new address; the report (JSON on stderr) gives requests, status counts and
# latency percentiles, read back below.
POST_LUA = """
local counter = 0
local thread_id = 0
local statuses = {}
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
end
request = function()
  counter = counter + 1
  local body = BODY .. "&email=wrk-" .. thread_id .. "-" .. counter .. "%40example.com"
  return wrk.format("POST", PATH, HEADERS, body)
end
"""
REPORT_LUA = """
done = function(summary, latency, requests)
  local out = string.format(
    '{"requests": %d, "seconds": %f, "non_2xx_3xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p95_ms": %f, "p99_ms": %f}',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000)
  io.stderr:write("WRK_REPORT " .. out .. "\\n")
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def _wrk(url: str, *, script: Path, seconds: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
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
    report = json.loads(found.group(1))
    report["rps"] = report["requests"] / report["seconds"] if report["seconds"] else 0.0
    return report


def _post_script(tmp: Path, base_url: str) -> Path:
    """The form as a browser would send it, from one GET of the page."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        page = client.get(LANDING_PATH)
        token = page.cookies.get("csrftoken")
    if page.status_code != 200 or not token:
        raise BenchFailure(f"GET {LANDING_PATH}: HTTP {page.status_code}, csrftoken {token!r}")
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    answers = re.findall(
        r'<input[^>]*type="radio"[^>]*name="answer"[^>]*value="([^"]*)"', page.text
    )
    for name in ("csrfmiddlewaretoken", "started"):
        if not fields.get(name):
            raise BenchFailure(f"the landing page form has no {name}")
    fields.pop("email", None)
    fields.update(
        first_name="Bench",
        last_name="Load",
        company="Bench Ltd",
        time_zone="Europe/Berlin",
        consent="on",
    )
    if answers:
        fields["answer"] = answers[0]
    body = str(httpx.QueryParams(fields))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={token}",
        "Origin": base_url,
        "Referer": f"{base_url}{LANDING_PATH}",
    }
    lua_headers = "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}"
                                  for k, v in headers.items()) + "}"  # fmt: skip
    script = tmp / "post.lua"
    script.write_text(
        f"BODY = {_lua_string(body)}\nPATH = {_lua_string(LANDING_PATH)}\n"
        f"HEADERS = {lua_headers}\n{POST_LUA}\n{REPORT_LUA}"
    )
    return script


def _line(name: str, report: dict[str, Any], note: str) -> str:
    return (
        f"{name:<26}requests/s={report['rps']:<8.1f}p50={report['p50_ms']:.1f}ms "
        f"p95={report['p95_ms']:.1f}ms p99={report['p99_ms']:.1f}ms  {note}"
    )


def wrk_figures(options: Any) -> list[str]:
    if shutil.which("wrk") is None:
        raise BenchFailure("capture.wrk needs wrk: run 'sudo apt-get install wrk'")
    db_url = stack.database_url().rstrip("/") + "_wrk"
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-wrk-") as tmp_name:
        tmp = Path(tmp_name)
        env = stack.server_env(database_url=db_url, var_dir=tmp)
        log(f"capture.wrk: collectstatic, recreating {db_url}, migrate, seed_demo")
        stack.manage(env, "collectstatic", "--noinput", "-v0")
        stack.recreate_database(db_url)
        stack.flush_redis(env)
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage(env, "seed_demo")
        plain = tmp / "report.lua"
        plain.write_text(REPORT_LUA)
        with stack.gunicorn(env, workers=2, log_path=tmp / "gunicorn.log") as server:
            post_script = _post_script(tmp, server.base_url)
            for path in (BARE_PATH, LANDING_PATH):  # warm up both workers
                _wrk(f"{server.base_url}{path}", script=plain, seconds=1)
            reports = {}
            for name, path, script in (
                ("bare", BARE_PATH, plain),
                ("landing_get", LANDING_PATH, plain),
            ):
                log(f"capture.wrk: {name} for {SECONDS} s, {CONNECTIONS} connections")
                reports[name] = _wrk(f"{server.base_url}{path}", script=script, seconds=SECONDS)
            before = stack.count_rows(db_url, "capture_submission")
            log(f"capture.wrk: form_post for {SECONDS} s, {CONNECTIONS} connections")
            reports["form_post"] = _wrk(
                f"{server.base_url}{LANDING_PATH}", script=post_script, seconds=SECONDS
            )
        stored = stack.count_rows(db_url, "capture_submission") - before
        stack.flush_redis(env)
    bare = reports["bare"]["rps"]
    get_ratio = reports["landing_get"]["rps"] / bare if bare else 0.0
    post_ratio = reports["form_post"]["rps"] / bare if bare else 0.0
    post = reports["form_post"]
    answered = post["requests"] - post["non_2xx_3xx"]
    lines = [
        _line("capture.wrk_bare", reports["bare"], "(baseline)"),
        _line(
            "capture.wrk_landing_get",
            reports["landing_get"],
            f"ratio={get_ratio:.3f} of bare (target >= {TARGET_GET})",
        ),
        _line(
            "capture.wrk_form_post",
            post,
            f"ratio={post_ratio:.3f} of bare (target >= {TARGET_POST})",
        ),
        f"{'capture.wrk_errors':<26}"
        + "  ".join(
            f"{name}: non-2xx/3xx={r['non_2xx_3xx']} socket={r['socket_errors']}"
            for name, r in reports.items()
        )
        + f"  posts answered={answered} submissions stored={stored}",
    ]
    problems = [
        f"{name}: {r['non_2xx_3xx']} non-2xx/3xx, {r['socket_errors']} socket errors"
        for name, r in reports.items()
        if r["non_2xx_3xx"] or r["socket_errors"]
    ]
    if not answered <= stored <= answered + CONNECTIONS:
        problems.append(f"{answered} POSTs answered but {stored} submissions stored")
    if problems:
        raise BenchFailure("\n".join(problems), lines)
    return lines
