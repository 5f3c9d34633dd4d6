"""The capture figures: the landing page under an ad spike, and a burst of submissions.

`capture`: Debian's `wrk` (support/wrk.py) drives gunicorn (2 workers of 8 threads as
gunicorn.conf.py sets them for production, production settings) for three phases of
BENCH_DURATION seconds (10) with BENCH_WRK_CONNECTIONS (32) connections on 2 threads, after
a second's untimed warm-up of each path:

- `capture.bare_view`: GET /bench/bare/, a view doing nothing behind the full middleware
  stack: the baseline;
- `capture.landing_get`: GET of the demo landing page, as an ad's click lands (target: at
  least 0.3 of the baseline's requests/s);
- `capture.form_post`: the page's form POSTed, each request with an address of its own (a
  Lua counter per thread), the CSRF cookie and token and the signed start time taken from
  one GET, each answer checked to be a 302 to the thanks page (target: at least 0.1 of the
  baseline).

After the POST phase the new Submission rows must number at least the 302s wrk counted and
at most one more per connection (a request still in flight when the clock stopped). Each
phase's CPU use is logged, with the server's CPU per request.

`capture.load_10k`: 10,000 submissions from 200 concurrent clients, 20% reusing emails,
through gunicorn with production settings. Zero 5xx, zero lost (rows counted), dedupe
exact. Its load stays on httpx (support/burst.py says why).
"""

import tempfile
from pathlib import Path

import httpx

from ..support import postgres, stack, wrk
from ..support.accounting import CpuWindow
from ..support.burst import submit_burst
from ..support.forms import visit
from ..support.output import BenchFailure, Options, label, log

GUNICORN_WORKERS = 2
WARM_UP_SECONDS = 1.0
TARGET_GET = 0.3
TARGET_POST = 0.1
LOAD_FIELDS = {
    "first_name": "Lo",
    "company": "Load Co",
    "answer": "Just researching",
    "consent": "on",
}


def _form_post_script(base_url: str) -> str:
    """The form as a browser would send it, from one GET of the page."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        visitor = visit(client, first_name="Bench", last_name="Load", company="Bench Ltd")
    fields = {name: value for name, value in visitor.form.fields.items() if name != "email"}
    if visitor.form.answers:
        fields["answer"] = visitor.form.answers[0]
    return wrk.form_post_script(
        path=stack.LANDING_PATH,
        body=str(httpx.QueryParams(fields)),
        headers={"Content-Type": "application/x-www-form-urlencoded", **visitor.headers},
        redirect=stack.THANKS_PATH,
    )


def capture(options: Options) -> list[str]:
    """Lead form POSTs and landing page GETs through gunicorn against a bare view."""
    wrk.require()
    connections = stack.env_int("BENCH_WRK_CONNECTIONS", 32)
    db_url = stack.database_url()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp:
        env = stack.server_env(database_url=db_url, var_dir=Path(tmp))
        log(f"capture: collectstatic, recreating {db_url}, flushing Redis, migrate, seed_demo")
        stack.demo_database(env)
        with stack.gunicorn(
            env, workers=GUNICORN_WORKERS, log_path=Path(tmp) / "gunicorn.log"
        ) as server:
            phases = {
                "bare_view": (stack.BARE_PATH, None),
                "landing_get": (stack.LANDING_PATH, None),
                "form_post": (stack.LANDING_PATH, _form_post_script(server.base_url)),
            }
            for path, script in phases.values():  # warm up both workers on every path
                wrk.run(
                    f"{server.base_url}{path}",
                    seconds=WARM_UP_SECONDS,
                    connections=connections,
                    script=script,
                )
            reports: dict[str, wrk.Report] = {}
            windows: dict[str, CpuWindow] = {}
            for name, (path, script) in phases.items():
                # Counted just before the POSTs: the warm-up's last POSTs were still being
                # answered when its wrk stopped, and stored then.
                before = postgres.count_rows(db_url, "capture_submission")
                log(f"capture: {name} for {options.duration:g} s, {connections} connections")
                with CpuWindow(f"capture {name}", roots=[server.pid], db_url=db_url) as window:
                    reports[name] = wrk.run(
                        f"{server.base_url}{path}",
                        seconds=options.duration,
                        connections=connections,
                        script=script,
                    )
                windows[name] = window
                log(
                    f"capture {name}: server CPU per request "
                    f"{window.per_unit(reports[name].requests)}"
                )
        stored = postgres.count_rows(db_url, "capture_submission") - before
        stack.flush_redis(env)

    bare = reports["bare_view"].requests_per_second
    post = reports["form_post"]
    answered = post.answered
    notes = {
        "bare_view": "(baseline)",
        "landing_get": f"ratio={reports['landing_get'].requests_per_second / bare:.3f} of bare "
        f"(target >= {TARGET_GET})",
        "form_post": f"ratio={post.requests_per_second / bare:.3f} of bare "
        f"(target >= {TARGET_POST})",
    }
    lines = [
        report.line(f"capture.{name}", notes[name] + windows[name].note)
        for name, report in reports.items()
    ]
    lines.append(
        label("capture.errors")
        + "  ".join(
            f"{name}: non-2xx/3xx={r.non_2xx_3xx} socket={r.socket_errors}"
            for name, r in reports.items()
        )
        + f"  posts answered 302={answered} submissions stored={stored}  [wrk, {connections} "
        f"connections, {options.duration:g} s a phase]"
    )
    problems = [problem for name, r in reports.items() if (problem := r.problem(name))]
    if not answered <= stored <= answered + connections:
        problems.append(
            f"MISMATCH: {answered} POSTs answered 302 but {stored} Submission rows were "
            "created: the form dropped or duplicated leads while answering success"
        )
    if problems:
        raise BenchFailure("\n".join(problems), lines)
    return lines


def load_10k(options: Options) -> list[str]:
    total = stack.env_int("BENCH_LOAD_SUBMISSIONS", 10_000)
    concurrency = stack.env_int("BENCH_LOAD_CLIENTS", 200)
    db_url = stack.database_url()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-load-") as tmp:
        env = stack.server_env(database_url=db_url, var_dir=Path(tmp))
        stack.demo_database(env)
        leads_before = postgres.count_rows(db_url, "capture_lead")
        submissions_before = postgres.count_rows(db_url, "capture_submission")
        with stack.gunicorn(env, workers=2, log_path=Path(tmp) / "gunicorn.log") as server:
            log(f"load: {total} submissions from {concurrency} clients")
            result = submit_burst(
                base_url=server.base_url,
                path=stack.LANDING_PATH,
                total=total,
                concurrency=concurrency,
                fields=LOAD_FIELDS,
            )
        new_leads = postgres.count_rows(db_url, "capture_lead") - leads_before
        new_submissions = postgres.count_rows(db_url, "capture_submission") - submissions_before
        stack.flush_redis(env)
    line = (
        f"{label('capture.load_10k')}{result.summary()}  stored: submissions={new_submissions} "
        f"leads={new_leads} distinct_emails={len(result.emails)}"
    )
    problems = []
    if result.server_errors or result.transport_errors:
        problems.append("5xx or dropped connections under load")
    if new_submissions != result.successes:
        problems.append(f"LOST: {result.successes} answered 302, {new_submissions} stored")
    if new_leads != len(result.emails):
        problems.append(f"DEDUPE: {len(result.emails)} distinct emails, {new_leads} leads")
    if problems:
        raise BenchFailure("\n".join(problems), [line])
    return [line]
