"""`make bench`: performance figures, each beside a baseline measured in the same run.

Every bench in BENCHES returns its output lines, one per figure. Progress goes to stderr,
figures to stdout; the exit status is non-zero when any bench could not be trusted.
"""

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import capture_wrk  # bench/capture_wrk.py
import cpu
import httpx
import import_csv  # bench/import_csv.py
import journeys  # bench/journeys.py
import load  # bench/load.py
import stack
from loadgen import Check, PhaseResult, Send, Setup, run_phase
from stack import BenchFailure, log

import nurture  # bench/nurture.py: this folder is first on sys.path, before the app
import sales  # bench/sales.py, likewise
import scoring  # bench/scoring.py, likewise
import segments  # bench/segments.py, likewise

CONCURRENCY = 32
GUNICORN_WORKERS = 2
WARM_UP_SECONDS = 1.0  # per phase, so a couple of seconds in all
TARGET_RATIO = 0.5
# Of the 2 CPUs the figures are meant for: beyond this, a phase was measurably disturbed.
NOISY_CPUS = 0.2
BARE_PATH = "/bench/bare/"
LANDING_PATH = "/l/free-consultation/"
THANKS_PATH = "/l/free-consultation/thanks/"


@dataclass(frozen=True)
class Options:
    duration: float


Bench = Callable[[Options], list[str]]
BENCHES: dict[str, Bench] = {}


def register(name: str) -> Callable[[Bench], Bench]:
    def add(bench: Bench) -> Bench:
        BENCHES[name] = bench
        return bench

    return add


def figure_line(name: str, result: PhaseResult, note: str) -> str:
    return (
        f"{name:<26}requests/s={result.requests_per_second:<8.1f}"
        f"p50={result.percentile_ms(50):.1f}ms p95={result.percentile_ms(95):.1f}ms "
        f"p99={result.percentile_ms(99):.1f}ms  {note}"
    )


def measure(
    server: stack.Server, db_url: str, name: str, setup: Setup, check: Check, seconds: float
) -> PhaseResult:
    """One load phase against `server`, noting who used the CPUs meanwhile."""
    usage = cpu.Usage(
        web=[server.pid, *cpu.descendants(server.pid)], database=stack.backend_pids(db_url)
    )
    result = run_phase(
        name,
        server.base_url,
        setup=setup,
        check=check,
        duration=seconds,
        concurrency=CONCURRENCY,
        window=usage,
    )
    summary = f"{name}: {result.requests_per_second:.1f} requests/s"
    if shares := usage.shares:
        result.other_cpus = shares.others
        per_request = result.elapsed * 1000 / max(result.ok, 1)
        # A load generator near 1.0 CPU (it is one process) is the bottleneck: the server
        # then had capacity left, and the figure is the client's ceiling.
        summary += (
            f"; CPUs used by the load generator {shares.load_generator:.2f}, gunicorn "
            f"{shares.web:.2f}, postgres {shares.database:.2f}, other processes "
            f"{shares.others:.2f}; server CPU per request {shares.web * per_request:.2f} ms "
            f"+ postgres {shares.database * per_request:.2f} ms"
        )
    log(summary)
    if result.aborted:
        raise BenchFailure(_phase_problem(result))
    return result


def _phase_problem(result: PhaseResult) -> str:
    if result.unexpected or result.transport_errors:
        return (
            f"{result.name}: {result.unexpected} unexpected responses "
            f"{dict(result.statuses)}, {result.transport_errors} transport errors; "
            f"first: {result.first_error}"
        )
    return ""


def noise_note(result: PhaseResult) -> str:
    """A warning for the figure line when other work on the machine took a share of it."""
    if result.other_cpus is None or result.other_cpus < NOISY_CPUS:
        return ""
    return f"  [noisy: other processes used {result.other_cpus:.1f} CPUs]"


# capture ---------------------------------------------------------------------------------


class _FormInputs(HTMLParser):
    """What a browser would send from the page's form, before the visitor types anything."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checkboxes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name")
        if not name or tag not in ("input", "select", "textarea"):
            return
        kind = attributes.get("type", "text") if tag == "input" else tag
        if kind == "radio":
            self.radios.setdefault(name, []).append(attributes.get("value", ""))
        elif kind == "checkbox":
            self.checkboxes.add(name)
        else:
            self.values[name] = attributes.get("value", "")


async def _bare_setup(client: httpx.AsyncClient) -> Send:
    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(BARE_PATH)

    return send


def _bare_ok(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.content == b"ok"


async def _form_post_setup(client: httpx.AsyncClient) -> Send:
    """One visitor: load the landing page once, then send its form again and again."""
    page = await client.get(LANDING_PATH)
    token = page.cookies.get("csrftoken")
    # The client's cookie jar is shared by all workers: each sends its own cookie instead.
    client.cookies.clear()
    if page.status_code != 200 or not token:
        raise BenchFailure(
            f"GET {LANDING_PATH}: HTTP {page.status_code}, csrftoken cookie {token!r}"
        )
    form = _FormInputs()
    form.feed(page.text)
    fields = form.values
    choices = form.radios.get("answer", [])
    missing = [name for name in ("csrfmiddlewaretoken", "started") if not fields.get(name)]
    if missing or not choices:
        raise BenchFailure(f"landing page form lacks {missing or ['answer choices']}")
    if "consent" in form.checkboxes:
        fields["consent"] = "on"
    fields.update(first_name="Bench", last_name="Load", company="Bench Ltd")
    fields["time_zone"] = "Europe/Berlin"  # what capture.js fills in from the browser
    headers = {
        "Cookie": f"csrftoken={token}",
        "Origin": str(client.base_url).rstrip("/"),
        "Referer": str(page.url),
    }

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        data = {
            **fields,
            "email": f"bench-{uuid.uuid4().hex}@example.com",
            "answer": random.choice(choices),
        }
        return await client.post(LANDING_PATH, data=data, headers=headers)

    return send


def _form_post_ok(response: httpx.Response) -> bool:
    return response.status_code == 302 and response.headers.get("Location") == THANKS_PATH


@register("capture")
def capture_throughput(options: Options) -> list[str]:
    """Lead form POSTs through gunicorn against a bare view on the same server."""
    db_url = stack.database_url()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp:
        var_dir = Path(tmp)
        env = stack.server_env(database_url=db_url, var_dir=var_dir)
        log(f"capture: collectstatic, recreating {db_url}, flushing Redis, migrate, seed_demo")
        # DEBUG=0 names static files through the manifest, which collectstatic writes; first,
        # because anything that imports the URLconf (migrate's checks) may already need it.
        stack.manage(env, "collectstatic", "--noinput", "-v0")
        stack.recreate_database(db_url)
        stack.flush_redis(env)
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage(env, "seed_demo")
        log_path = var_dir / "gunicorn.log"
        with stack.gunicorn(env, workers=GUNICORN_WORKERS, log_path=log_path) as server:
            log(f"capture: gunicorn on {server.base_url}; warming up")
            for name, setup, check in (
                ("warm-up bare", _bare_setup, _bare_ok),
                ("warm-up post", _form_post_setup, _form_post_ok),
            ):
                warm_up = measure(server, db_url, name, setup, check, WARM_UP_SECONDS)
                if problem := _phase_problem(warm_up):
                    raise BenchFailure(problem)
            submissions_before = stack.count_rows(db_url, "capture_submission")
            log(f"capture: GET {BARE_PATH} x{CONCURRENCY} for {options.duration:g} s")
            bare = measure(server, db_url, "bare_view", _bare_setup, _bare_ok, options.duration)
            log(f"capture: POST {LANDING_PATH} x{CONCURRENCY} for {options.duration:g} s")
            post = measure(
                server, db_url, "form_post", _form_post_setup, _form_post_ok, options.duration
            )
        new_submissions = stack.count_rows(db_url, "capture_submission") - submissions_before
        stack.flush_redis(env)

    ratio = post.requests_per_second / bare.requests_per_second if bare.ok else 0.0
    redirects = post.statuses[302]
    lines = [
        figure_line("capture.bare_view", bare, "(baseline)" + noise_note(bare)),
        figure_line(
            "capture.form_post",
            post,
            f"ratio={ratio:.2f} of bare view (target >= {TARGET_RATIO})" + noise_note(post),
        ),
        f"{'capture.errors':<26}bare_view={bare.errors} form_post={post.errors}  "
        f"(non-2xx/3xx or no response; should be 0)  "
        f"302s={redirects} new submissions={new_submissions}",
    ]
    problems = [problem for problem in map(_phase_problem, (bare, post)) if problem]
    if redirects != new_submissions:
        problems.append(
            f"MISMATCH: {redirects} POSTs answered 302 but {new_submissions} Submission rows "
            "were created: the form dropped or duplicated leads while answering success"
        )
    if problems:
        raise BenchFailure("\n".join(problems), lines)
    return lines


register("capture.load_10k")(load.load_10k)
register("capture.wrk")(capture_wrk.wrk_figures)


# nurture (bench/nurture.py) --------------------------------------------------------------

register("nurture.tick_flat")(nurture.tick_flat)
register("nurture.send_throughput")(nurture.send_throughput)
register("nurture.speed_to_lead")(nurture.speed_to_lead)
register("nurture.scale_100k")(nurture.scale)


# journeys (bench/journeys.py) ------------------------------------------------------------

register("journeys.tick_100k")(journeys.tick_100k)
register("journeys.tick_sparse")(journeys.tick_sparse)


# scoring (bench/scoring.py) --------------------------------------------------------------

register("scoring.decay_1m")(scoring.decay_1m)


# integrations (bench/import_csv.py) ------------------------------------------------------

register("integrations.import_100k")(import_csv.import_100k)


# sales (bench/sales.py) -----------------------------------------------------------------

register("sales.dashboard_1m")(sales.dashboard_1m)


# segments (bench/segments.py) -----------------------------------------------------------

register("segments.count_1m")(segments.count_1m)


# -----------------------------------------------------------------------------------------


def _duration() -> float:
    raw = os.environ.get("BENCH_DURATION", "20")
    try:
        duration = float(raw)
    except ValueError:
        duration = 0.0
    if duration <= 0:
        sys.exit(f"BENCH_DURATION must be a positive number of seconds, not {raw!r}")
    return duration


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHES),
        metavar="NAME",
        help=f"run only this bench (repeatable): {', '.join(sorted(BENCHES))}",
    )
    args = parser.parse_args(argv)
    options = Options(duration=_duration())
    failed = []
    for name in args.only or list(BENCHES):
        started = time.monotonic()
        try:
            lines = BENCHES[name](options)
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
