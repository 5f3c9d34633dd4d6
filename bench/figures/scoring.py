"""scoring.decay_1m: the nightly set-based rescoring of a million leads, against a plain UPDATE.

A dedicated database (BENCH_SCORING_DATABASE_URL, default leadfunnel_bench_scoring, dropped
and recreated) is migrated and given the default rules, then filled in SQL with
BENCH_SCORING_LEADS leads (default 1,000,000) and about three activities each. The
baseline is one plain `UPDATE capture_lead SET score = score + 1` over every lead (it
changes an indexed column, as rescoring does); the figure is `manage.py decay_scores`
rescoring them all from scratch (compute, UPDATE, ScoreChange rows, commit), timed inside
the command. Announcing the temperature changes afterwards runs the other apps' receivers
once per change; that is their cost, not the job's, and is shown apart as `+announcing`.
Both run on a freshly vacuumed table. `second_run` is decay_scores again right after: a
night on which few scores move.
"""

import os
import re
import tempfile
from pathlib import Path

from ..support import postgres, stack
from ..support.output import BenchFailure, Options, label, log

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadfunnel_bench_scoring"
TARGET_RATIO = 3.0
SEED_RULES = "from scoring.demo import seed_default_scoring; seed_default_scoring()"
_RESCORED = re.compile(
    r"Rescored (\d+) leads \((\d+) changed temperature\) in ([\d.]+) s, of which ([\d.]+) s"
)

LEADS_SQL = """
INSERT INTO capture_lead (uid, email, first_name, last_name, phone, company, job_title,
    company_size, industry, country, time_zone, answers, consent_text, source, stage, score,
    temperature, created_at, updated_at, last_activity_at)
SELECT gen_random_uuid(),
    'lead' || i || '@' || CASE WHEN i %% 4 = 0 THEN 'gmail.com'
                               ELSE 'company' || (i %% 50000) || '.example' END,
    'Lead', i::text, '', 'Company ' || (i %% 50000),
    (ARRAY['Marketing Director', 'Head of Sales', 'Engineer', 'Student', 'VP Marketing',
           'Owner', 'Analyst', 'Consultant'])[1 + i %% 8],
    (ARRAY['', '1-9', '10-49', '50-249', '250-999', '1000+'])[1 + i %% 6],
    (ARRAY['Software', 'Retail', 'Finance', ''])[1 + i %% 4],
    (ARRAY['GB', 'DE', 'US', 'FR', 'ES'])[1 + i %% 5], 'Europe/London',
    jsonb_build_object('When would you like to start?',
        (ARRAY['Ready to start within a month', 'In 1–3 months', 'Just researching'])[1 + i %% 3]),
    '', (ARRAY['google', 'linkedin', ''])[1 + i %% 3], 'nurturing', 0, 'cold',
    now() - (i %% 365) * interval '1 day', now(), now() - (i %% 365) * interval '1 day'
FROM generate_series(1, %(leads)s) AS i
"""
# last_activity_at is the form submission's time (created_at): the decay does not read it,
# so the fill skips moving it to the later activities (a million-row UPDATE).
# One form submission per lead, then two more activities per lead on average, spread over
# the last 90 days: page views (a third of them of /pricing), opens, clicks, a few
# bookings, unsubscribes and bounces.
ACTIVITIES_SQL = """
INSERT INTO capture_activity (lead_id, kind, occurred_at, metadata)
SELECT id, 'form_submitted', created_at, '{"landing_page": "free-consultation"}'::jsonb
FROM capture_lead;
INSERT INTO capture_activity (lead_id, kind, occurred_at, metadata)
SELECT lead_id, kind,
    now() - random() * interval '90 days',
    CASE kind WHEN 'page_viewed' THEN jsonb_build_object('url',
                  CASE WHEN random() < 0.33 THEN 'https://example.com/pricing'
                       ELSE 'https://example.com/blog/' || (g %% 100) END)
              WHEN 'email_clicked' THEN '{"link": "https://example.com/book"}'::jsonb
              ELSE '{}'::jsonb END
FROM (
    SELECT g, %(first_id)s + (g::bigint * 7919) %% %(leads)s AS lead_id,
        CASE WHEN r < 0.50 THEN 'page_viewed' WHEN r < 0.75 THEN 'email_opened'
             WHEN r < 0.93 THEN 'email_clicked' WHEN r < 0.95 THEN 'booking_made'
             WHEN r < 0.98 THEN 'unsubscribed' ELSE 'email_bounced' END AS kind
    FROM (SELECT g, random() AS r FROM generate_series(1, 2 * %(leads)s) AS g) AS draws
) AS picks
"""


def decay_1m(options: Options) -> list[str]:
    """The set-based decay over every lead against one plain UPDATE of the same rows."""
    leads = stack.env_int("BENCH_SCORING_LEADS", 1_000_000)
    url = os.environ.get("BENCH_SCORING_DATABASE_URL", DEFAULT_DATABASE_URL)
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-scoring-") as tmp:
        env = stack.server_env(database_url=url, var_dir=Path(tmp))
        log(f"scoring: recreating {url}, migrate, default rules")
        postgres.recreate_database(url)
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage(env, "shell", "-c", SEED_RULES)
        log(f"scoring: generating {leads:,} leads and about {3 * leads:,} activities")
        took = postgres.execute(url, "SELECT setseed(0.42)", LEADS_SQL, params={"leads": leads})
        first_id = postgres.scalar(url, "SELECT min(id) FROM capture_lead")
        took += postgres.execute(url, ACTIVITIES_SQL, params={"leads": leads, "first_id": first_id})
        postgres.execute(url, "VACUUM ANALYZE capture_lead", "VACUUM ANALYZE capture_activity")
        activities = postgres.count_rows(url, "capture_activity")
        log(f"scoring: data ready in {took:.0f} s ({activities:,} activities); baseline UPDATE")
        baseline = postgres.execute(url, "UPDATE capture_lead SET score = score + 1")
        postgres.execute(url, "VACUUM ANALYZE capture_lead")
        log("scoring: decay_scores over every lead")
        first = _rescored(stack.manage(env, "decay_scores", "--cause", "decay"))
        log("scoring: decay_scores again (a night when little changed)")
        again = _rescored(stack.manage(env, "decay_scores", "--cause", "decay"))
    rescored, moved, total, announcing = first
    # The job itself: compute, UPDATE, history, commit. Announcing runs the other apps'
    # receivers once per temperature change (here 40% of all leads, a first scoring; a
    # normal night has few): their cost, shown beside it.
    decay = total - announcing
    ratio = decay / baseline
    line = (
        f"{label('scoring.decay_1m')}leads={leads} decay={decay:.2f}s "
        f"baseline_update={baseline:.2f}s ratio={ratio:.2f}x (target <= {TARGET_RATIO:g}x)  "
        f"activities={activities} rescored={rescored} temperature_changes={moved} "
        f"+announcing={announcing:.2f}s second_run={again[2] - again[3]:.2f}s"
    )
    if rescored < leads * 0.5:
        raise BenchFailure(
            f"only {rescored} of {leads} leads were rescored: the run measured too little",
            [line],
        )
    return [line]


def _rescored(output: str) -> tuple[int, int, float, float]:
    match = _RESCORED.search(output)
    if match is None:
        raise BenchFailure(f"decay_scores printed no timing:\n{output}")
    return int(match[1]), int(match[2]), float(match[3]), float(match[4])
