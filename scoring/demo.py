"""The default scoring model and its nightly schedule, for seed_demo and new installs.

Idempotent: the rules are created only while there are none (a marketer's deletions stay
deleted), the settings row and the 03:00 UTC PeriodicTask only when missing.
"""

from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from scoring.models import ScoreChange, ScoringConfig, ScoringRule
from scoring.services import rescore_all_leads

NIGHTLY_TASK_NAME = "scoring: nightly decay"
Kind, Field, Op = ScoringRule.Kind, ScoringRule.Field, ScoringRule.Operator
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "Corporate email",
        "kind": Kind.FIT,
        "field": Field.EMAIL_DOMAIN,
        "operator": Op.CORPORATE_EMAIL,
        "points": 10,
    },
    {
        # Whoever decides on a purchase: C-level and founders as much as directors.
        "name": "Senior title",
        "kind": Kind.FIT,
        "field": Field.JOB_TITLE,
        "operator": Op.CONTAINS,
        "value": "director, head, vp, chief, ceo, founder, president, owner, partner",
        "points": 15,
    },
    {
        "name": "Company size 50+",
        "kind": Kind.FIT,
        "field": Field.COMPANY_SIZE,
        "operator": Op.GREATER_THAN,
        "value": "10-49",
        "points": 10,
    },
    {
        "name": "Ready to start within a month",
        "kind": Kind.FIT,
        "field": Field.ANSWER,
        "operator": Op.CONTAINS,
        "value": "within a month",
        "points": 20,
    },
    {
        "name": "Pricing page view",
        "kind": Kind.ENGAGEMENT,
        "activity_kind": "page_viewed",
        "pattern": "/pricing",
        "points": 10,
        "max_occurrences": 3,
    },
    {
        "name": "Email click",
        "kind": Kind.ENGAGEMENT,
        "activity_kind": "email_clicked",
        "points": 5,
        "max_occurrences": 5,
    },
    # Capped at 1: a reschedule or a cancel-and-rebook records another booking_made, but it
    # is the same intent; only the latest booking counts (migration 0003 caps old installs).
    {
        "name": "Consultation booked",
        "kind": Kind.ENGAGEMENT,
        "activity_kind": "booking_made",
        "points": 40,
        "max_occurrences": 1,
    },
    {
        "name": "Unsubscribed",
        "kind": Kind.ENGAGEMENT,
        "activity_kind": "unsubscribed",
        "points": -50,
        "max_occurrences": 1,
        "decays": False,
    },
    {
        "name": "Email bounced",
        "kind": Kind.ENGAGEMENT,
        "activity_kind": "email_bounced",
        "points": -20,
        "max_occurrences": 1,
        "decays": False,
    },
]


def seed_default_scoring() -> None:
    with transaction.atomic():
        ScoringConfig.objects.get_or_create(pk=1)
        schedule, _ = CrontabSchedule.objects.get_or_create(
            minute="0",
            hour="3",
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=NIGHTLY_TASK_NAME,
            defaults={
                "crontab": schedule,
                "task": "scoring.tasks.rescore_all_leads",
                "kwargs": '{"cause": "decay"}',
            },
        )
        if ScoringRule.objects.exists():
            return
        for values in DEFAULT_RULES:
            rule = ScoringRule(**values)
            rule.full_clean()
            rule.save()
        # Leads captured before the rules existed get their scores now.
        rescore_all_leads(cause=ScoreChange.Cause.RULES)
