"""capture.load_10k: 10,000 submissions from 200 concurrent clients, 20% reusing emails,
through gunicorn with production settings. Zero 5xx, zero lost (rows counted), dedupe exact."""

import os
import tempfile
from pathlib import Path

import stack
from burst import submit_burst
from stack import BenchFailure, log

LANDING_PATH = "/l/free-consultation/"
FIELDS = {"first_name": "Lo", "company": "Load Co", "answer": "Just researching",
          "consent": "on"}  # fmt: skip


def load_10k(options: object) -> list[str]:
    total = int(os.environ.get("BENCH_LOAD_SUBMISSIONS", "10000"))
    concurrency = int(os.environ.get("BENCH_LOAD_CLIENTS", "200"))
    db_url = stack.database_url()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-load-") as tmp:
        env = stack.server_env(database_url=db_url, var_dir=Path(tmp))
        stack.manage(env, "collectstatic", "--noinput", "-v0")
        stack.recreate_database(db_url)
        stack.flush_redis(env)
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage(env, "seed_demo")
        leads_before = stack.count_rows(db_url, "capture_lead")
        submissions_before = stack.count_rows(db_url, "capture_submission")
        with stack.gunicorn(env, workers=2, log_path=Path(tmp) / "gunicorn.log") as server:
            log(f"load: {total} submissions from {concurrency} clients")
            result = submit_burst(
                base_url=server.base_url,
                path=LANDING_PATH,
                total=total,
                concurrency=concurrency,
                fields=FIELDS,
            )
        new_leads = stack.count_rows(db_url, "capture_lead") - leads_before
        new_submissions = stack.count_rows(db_url, "capture_submission") - submissions_before
        stack.flush_redis(env)
    line = (
        f"{'capture.load_10k':<26}{result.summary()}  stored: submissions={new_submissions} "
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
