"""sales.dashboard_1m: the hot-lead dashboard and the lead page at a million leads.

A dedicated database (BENCH_SALES_DATABASE_URL, default leadfunnel_bench_sales, dropped and
recreated) is migrated, seeded with the demo (its users), then filled in SQL with
BENCH_SALES_LEADS leads (default 1,000,000; a tenth of them hot, a quarter of those sharing
one score, the worst case for the dashboard's tie-break) and ten activities each (10,000,000),
plus three score changes and a hand-off per hot lead. gunicorn serves it with the production
settings; wrk, with the session cookies of one signed-in sales rep as a header, asks for each
page below over BENCH_SALES_CONNECTIONS connections (default 1: one rep, one request at a
time) for BENCH_DURATION seconds after one untimed second, and the figure is wrk's latency
from request to full response on loopback, against a bare view on the same server in the
same run (the baseline: same middleware, no work). Every response must be a 200 holding the
page's title.

The fill bypasses the services, so the funnel facts the metrics page reads are recounted
(`manage.py rebuild_funnel_facts`: the triggers noted every lead written) before measuring.

Pages: the dashboard's first page; a page deep inside the 25,000 leads that share a score
(a keyset cursor taken from the database); a search by company; a hot lead's page; the
metrics page for the last month, quarter and year.
"""

import os
import random
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg2

from ..support import postgres, stack, wrk
from ..support.output import BenchFailure, Options, label, log

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadfunnel_bench_sales"
TARGET_P95_MS = 50.0
TARGET_METRICS_MS = 500.0
ACTIVITIES_PER_LEAD = 10
TIE_SCORE = 75
WARM_UP_SECONDS = 1.0
# Paths drawn from at random by the pages that vary (a search, a hot lead's page).
SAMPLED_PATHS = 500

LEADS_SQL = """
INSERT INTO capture_lead (uid, email, first_name, last_name, phone, company, job_title,
    company_size, industry, country, time_zone, answers, consent_text, source, stage, score,
    temperature, last_activity_at, created_at, updated_at)
SELECT gen_random_uuid(), 'lead' || i || '@company' || (i %% 50000) || '.example',
    (ARRAY['Ann', 'Ben', 'Chloe', 'Dev', 'Eva', 'Finn'])[1 + i %% 6], 'Lead' || i, '',
    'Company ' || (i %% 50000),
    (ARRAY['Marketing Director', 'Head of Sales', 'Engineer', 'Analyst'])[1 + i %% 4],
    '50-249', 'Software', 'GB', 'Europe/London', '{}'::jsonb, '',
    (ARRAY['google', 'linkedin', 'newsletter'])[1 + i %% 3],
    CASE WHEN i %% 10 = 0 THEN 'sales_ready' ELSE 'nurturing' END,
    CASE WHEN i %% 40 = 0 THEN %(tie)s
         WHEN i %% 10 = 0 THEN 60 + (i / 10) %% 41
         WHEN i %% 10 < 4 THEN 30 + i %% 30
         ELSE i %% 30 END,
    CASE WHEN i %% 10 = 0 THEN 'hot' WHEN i %% 10 < 4 THEN 'warm' ELSE 'cold' END,
    now() - (i %% 365) * interval '1 day', now() - (i %% 365) * interval '1 day', now()
FROM generate_series(1, %(leads)s) AS i
"""
# Ten per lead over the last 90 days: page views, opens, clicks, a few bookings.
ACTIVITIES_SQL = """
INSERT INTO capture_activity (lead_id, kind, occurred_at, metadata)
SELECT %(first_id)s + g %% %(leads)s,
    (ARRAY['page_viewed', 'page_viewed', 'page_viewed', 'email_opened', 'email_opened',
           'email_clicked', 'page_viewed', 'email_opened', 'form_submitted',
           'email_clicked'])[1 + g %% 10],
    now() - ((g::bigint * 7919) %% 7776000) * interval '1 second',
    CASE WHEN g %% 10 IN (0, 1, 2, 6)
         THEN jsonb_build_object('url', 'https://example.com/blog/' || (g %% 100))
         ELSE '{}'::jsonb END
FROM generate_series(0, %(activities)s - 1) AS g
"""
LAST_ACTIVITY_SQL = """
UPDATE capture_lead AS lead SET last_activity_at = latest.at
FROM (SELECT lead_id, max(occurred_at) AS at FROM capture_activity GROUP BY lead_id) AS latest
WHERE latest.lead_id = lead.id AND latest.at > lead.last_activity_at
"""
SCORE_CHANGES_SQL = """
INSERT INTO scoring_scorechange (lead_id, old_score, new_score, old_temperature,
    new_temperature, reasons, cause, at)
SELECT id, score - 10 * step, score - 10 * (step - 1),
    CASE WHEN step = 1 THEN 'warm' ELSE 'cold' END, CASE WHEN step = 1 THEN 'hot' ELSE 'warm' END,
    jsonb_build_array(jsonb_build_object('rule_id', NULL, 'label', 'Visited pricing',
        'points', 10, 'text', 'Visited the pricing page')),
    'activity', last_activity_at - step * interval '1 hour'
FROM capture_lead, generate_series(1, 3) AS step
WHERE temperature = 'hot'
"""
# Every hot lead was handed to the demo rep when it turned hot; half were contacted since.
HANDOFFS_SQL = """
INSERT INTO sales_handoff (lead_id, turned_hot_at, rep_id, notified_at, first_contact_at)
SELECT lead.id, lead.last_activity_at - interval '3 hours', rep.id,
    lead.last_activity_at - interval '3 hours',
    CASE WHEN lead.id %% 2 = 0 THEN lead.last_activity_at - interval '1 hour' END
FROM capture_lead AS lead, (SELECT id FROM auth_user WHERE username = 'sales') AS rep
WHERE lead.temperature = 'hot' AND lead.email LIKE 'lead%%'
"""


def fill(url: str, leads: int) -> None:
    """Leads, then activities with the secondary indexes dropped and rebuilt (much faster)."""
    took = postgres.execute(
        url, "SELECT setseed(0.42)", LEADS_SQL, params={"leads": leads, "tie": TIE_SCORE}
    )
    ((first_id,),) = postgres.fetch(
        url, "SELECT min(id) FROM capture_lead WHERE email LIKE 'lead%%'"
    )
    indexes = postgres.fetch(
        url,
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'capture_activity'"
        " AND indexname NOT LIKE '%%pkey'",
    )
    postgres.execute(url, *(f'DROP INDEX "{name}"' for name, _ in indexes))
    activities = leads * ACTIVITIES_PER_LEAD
    log(f"sales: {activities:,} activities")
    took += postgres.execute(
        url,
        ACTIVITIES_SQL,
        params={"leads": leads, "first_id": first_id, "activities": activities},
    )
    log("sales: rebuilding activity indexes, latest activity per lead, score changes")
    took += postgres.execute(
        url, "SET maintenance_work_mem = '512MB'", *(sql for _, sql in indexes)
    )
    took += postgres.execute(url, LAST_ACTIVITY_SQL, SCORE_CHANGES_SQL, HANDOFFS_SQL, params={})
    took += postgres.execute(
        url,
        "VACUUM ANALYZE capture_lead",
        "VACUUM ANALYZE capture_activity",
        "VACUUM ANALYZE scoring_scorechange",
        "VACUUM ANALYZE sales_handoff",
    )
    log(f"sales: data ready in {took:.0f} s")


def filled(url: str, leads: int) -> bool:
    """The database holds a finished fill of this size (for re-measuring without refilling)."""
    try:
        ((count,),) = postgres.fetch(
            url, "SELECT count(*) FROM capture_lead WHERE email LIKE 'lead%%'"
        )
        ((handoffs,),) = postgres.fetch(url, "SELECT count(*) FROM sales_handoff")
    except psycopg2.Error:
        return False
    return count == leads and handoffs > 0


def _tie_cursor(url: str) -> str:
    """The dashboard's keyset cursor halfway through the hot leads that share one score."""
    rows = postgres.fetch(
        url,
        "SELECT id, (extract(epoch FROM last_activity_at) * 1000000)::bigint FROM capture_lead"
        " WHERE temperature = 'hot' AND score = %(tie)s"
        " ORDER BY last_activity_at DESC, id DESC"
        " OFFSET (SELECT count(*) / 2 FROM capture_lead WHERE temperature = 'hot'"
        " AND score = %(tie)s) LIMIT 1",
        {"tie": TIE_SCORE},
    )
    if not rows:
        raise BenchFailure("no hot leads share the tie score: the data is not as planned")
    lead_id, micros = rows[0]
    return f"hot.{TIE_SCORE}.{micros}.{lead_id}"


def _session_cookie(base_url: str) -> str:
    """A `Cookie` header value for the demo sales rep, signed in once through the form."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        page = client.get("/accounts/login/")
        done = client.post(
            "/accounts/login/",
            data={
                "username": "sales",
                "password": stack.DEMO_PASSWORD,
                "csrfmiddlewaretoken": client.cookies.get("csrftoken") or "",
            },
            headers={"Referer": str(page.url)},
        )
        if done.status_code != 302 or "sessionid" not in client.cookies:
            raise BenchFailure(f"sales rep login failed: HTTP {done.status_code}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _pages(url: str) -> dict[str, tuple[list[str], str]]:
    """Each page's paths (one drawn at random per request) and the text its body must hold."""
    hot = "SELECT id FROM capture_lead WHERE temperature = 'hot' AND email LIKE 'lead%%'"
    hot_ids = [row[0] for row in postgres.fetch(url, hot)]
    if not hot_ids:
        raise BenchFailure("no hot leads: the data is not as planned")
    tie = _tie_cursor(url)
    random.seed(7)
    today = datetime.now(UTC).date()
    dashboard = "Leads — leadfunnel"
    return {
        "bare": ([stack.BARE_PATH], "ok"),
        "dashboard": (["/sales/"], dashboard),
        "dashboard_tie_page": (["/sales/?" + urllib.parse.urlencode({"after": tie})], dashboard),
        "dashboard_search": (
            [f"/sales/?q=Company+{random.randrange(10000, 50000)}" for _ in range(SAMPLED_PATHS)],
            dashboard,
        ),
        "lead_page": (
            [f"/sales/leads/{random.choice(hot_ids)}/" for _ in range(SAMPLED_PATHS)],
            "Timeline",
        ),
        # The metrics page for a month, a quarter and a year ending today.
        **{
            f"metrics_{name}": (
                [
                    "/sales/metrics/?"
                    + urllib.parse.urlencode(
                        {"date_from": (today - timedelta(days=days)).isoformat()}
                    )
                ],
                "Funnel metrics",
            )
            for name, days in (("month", 30), ("quarter", 91), ("year", 365))
        },
    }


def dashboard_1m(options: Options) -> list[str]:
    wrk.require()
    leads = stack.env_int("BENCH_SALES_LEADS", 1_000_000)
    connections = stack.env_int("BENCH_SALES_CONNECTIONS", 1)
    url = os.environ.get("BENCH_SALES_DATABASE_URL", DEFAULT_DATABASE_URL)
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-sales-") as tmp:
        env = stack.server_env(database_url=url, var_dir=Path(tmp))
        stack.manage(env, "collectstatic", "--noinput", "-v0")
        if os.environ.get("BENCH_SALES_REUSE") == "1" and filled(url, leads):
            log(f"sales: reusing the {leads:,} leads already in {url} (BENCH_SALES_REUSE=1)")
            stack.manage(env, "migrate", "--noinput", "-v0")
        else:
            log(f"sales: recreating {url}, migrate, seed_demo")
            postgres.recreate_database(url)
            stack.manage(env, "migrate", "--noinput", "-v0")
            stack.manage(env, "seed_demo")
            log(f"sales: generating {leads:,} leads")
            fill(url, leads)
        # The fill's SQL went past the services: the triggers noted every lead it wrote, and
        # the funnel facts the metrics page reads are recounted here, once, as the minute's
        # beat task would (after a reuse: whatever a new migration noted).
        started = time.perf_counter()
        stack.manage(env, "rebuild_funnel_facts")
        log(f"sales: funnel facts recounted in {time.perf_counter() - started:.0f} s")
        pages = _pages(url)
        reports: dict[str, wrk.Report] = {}
        with stack.gunicorn(env, workers=2, log_path=Path(tmp) / "gunicorn.log") as server:
            headers = {"Cookie": _session_cookie(server.base_url)}
            for name, (paths, check) in pages.items():
                script = wrk.pages_script(paths=paths, headers=headers, check=check)
                page_url = f"{server.base_url}{paths[0]}"
                log(f"sales: {name}, {connections} connection(s) for {options.duration:g} s")
                wrk.run(page_url, seconds=WARM_UP_SECONDS, connections=connections, script=script)
                reports[name] = wrk.run(
                    page_url, seconds=options.duration, connections=connections, script=script
                )
    bare_p95 = reports["bare"].p95_ms
    lines = []
    for name, report in reports.items():
        target = TARGET_METRICS_MS if name.startswith("metrics") else TARGET_P95_MS
        note = (
            "(baseline)"
            if name == "bare"
            else f"ratio_p95={report.p95_ms / bare_p95:.1f}x of bare; target p95 < {target:g} ms "
            + ("met" if report.p95_ms < target else "MISSED")
        )
        lines.append(
            f"{label('sales.' + name)}p50={report.p50_ms:.1f}ms p95={report.p95_ms:.1f}ms  "
            f"requests={report.requests}  {note}"
        )
    hot = len(set(pages["lead_page"][0]))
    lines.append(
        f"{label('sales.data')}leads={leads} activities={leads * ACTIVITIES_PER_LEAD} "
        f"hot lead pages sampled={hot} connections={connections} "
        f"seconds_per_page={options.duration:g}"
    )
    problems = [problem for name, r in reports.items() if (problem := r.problem(name))]
    if problems:
        raise BenchFailure("\n".join(problems), lines)
    return lines
