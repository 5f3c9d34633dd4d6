"""The README's segment figures at scale (not a test: it loads a million leads).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadfunnel_bench_h6 SECRET_KEY=x DEBUG=0 \\
        ENV_FILE= .venv/bin/python manage.py migrate
    ... .venv/bin/python manage.py shell -c "from tests.segments import scale; scale.main()"

Loads LEADS leads and ACTIVITIES activities with generate_series (into an empty database),
then times the member count of a 3-group tree with an activity condition, one full refresh,
and `refresh_lead` against five such segments.
"""

import statistics
import time

from django.db import connection
from django.utils import timezone

from capture.models import Lead
from segments.models import Segment
from segments.selectors import count_matching
from segments.services import refresh_lead, refresh_segment

LEADS, ACTIVITIES = 1_000_000, 10_000_000
TREE = {
    "match": "all",
    "conditions": [
        {"field": "temperature", "op": "in", "value": ["hot", "warm"]},
        {
            "match": "any",
            "conditions": [
                {
                    "field": "activity",
                    "kind": "page_viewed",
                    "url": "*/pricing*",
                    "op": "at_least",
                    "count": 2,
                    "within_days": 14,
                },
                {
                    "match": "all",
                    "conditions": [
                        {"field": "score", "op": "at_least", "value": 80},
                        {"field": "country", "op": "is", "value": "DE"},
                    ],
                },
            ],
        },
        {"match": "none", "conditions": [{"field": "stage", "op": "is", "value": "contacted"}]},
    ],
}
LOAD = """
INSERT INTO capture_lead (uid, email, first_name, last_name, phone, company, job_title,
  company_size, industry, country, time_zone, answers, consent_text, sms_consent_text, source,
  stage, score, temperature, last_activity_at, created_at, updated_at)
SELECT md5(g::text)::uuid, 'lead' || g || '@example.com', 'A', 'B', '', 'Acme', 'Engineer', '',
  'Software', CASE WHEN g %% 3 = 0 THEN 'DE' ELSE 'GB' END, 'UTC', '{}'::jsonb, '', '',
  'newsletter', (ARRAY['new','nurturing','sales_ready','contacted'])[1 + g %% 4], g %% 100,
  (ARRAY['hot','warm','cold','cold'])[1 + g %% 4], now() - (g %% 60) * interval '1 day',
  now() - (g %% 365) * interval '1 day', now()
FROM generate_series(1, %(leads)s) g;
INSERT INTO capture_activity (lead_id, kind, occurred_at, metadata)
SELECT (SELECT min(id) FROM capture_lead) + (g %% %(leads)s),
  (ARRAY['page_viewed','page_viewed','email_opened','email_clicked'])[1 + g %% 4],
  now() - (g %% 90) * interval '1 day' - (g %% 24) * interval '1 hour',
  CASE WHEN g %% 4 < 2 THEN jsonb_build_object('url', (ARRAY['https://x.example/pricing',
    'https://x.example/blog/a', 'https://x.example/about'])[1 + g %% 3]) ELSE '{}'::jsonb END
FROM generate_series(1, %(activities)s) g;
ANALYZE;
"""


def main() -> None:
    if not Lead.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute(LOAD, {"leads": LEADS, "activities": ACTIVITIES})
    now = timezone.now()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        count = count_matching(tree=TREE, now=now)
        times.append(time.perf_counter() - started)
    print(f"count {count} of {Lead.objects.count()}: median {statistics.median(times):.2f} s")
    Segment.objects.all().delete()
    segments = [Segment.objects.create(name=f"S{i}", conditions=TREE) for i in range(5)]
    started = time.perf_counter()
    refresh_segment(segment_id=segments[0].pk, now=now)
    print(f"full refresh: {time.perf_counter() - started:.1f} s")
    per_lead = []
    for lead_id in Lead.objects.values_list("pk", flat=True)[:200]:
        started = time.perf_counter()
        refresh_lead(lead_id=lead_id, now=now)
        per_lead.append(time.perf_counter() - started)
    per_lead.sort()
    print(
        f"refresh_lead x5 segments: p50 {per_lead[100] * 1000:.1f} ms, "
        f"p95 {per_lead[190] * 1000:.1f} ms"
    )
