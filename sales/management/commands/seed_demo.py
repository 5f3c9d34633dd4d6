"""Demo data for `make run`: a landing page, a campaign, a few leads and two logins.

The scoring rules are the defaults; Maria browses the pricing page twice and turns hot, so
the sales login finds her assigned and waiting (and the hand-off email in var/mail/).

Idempotent: running it again changes nothing but keeps the printed logins true.
"""

import os
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from capture.models import Activity, Campaign, LandingPage, Lead
from capture.processing import process_submission
from capture.services import Tracking, capture_submission, record_activity
from leadfunnel.groups import MARKETERS, SALES_REPS
from nurture.demo import seed_default_sequence, seed_demo_journeys
from sales.models import RepProfile
from scoring.demo import seed_default_scoring

DEMO_PAGE_BODY = """\
Tell us where you are and where you want to be. In a free, no-obligation 30-minute call one
of our consultants will look at your funnel with you and leave you with three changes you can
make this quarter.

- **A clear diagnosis** of where leads drop out today
- **A 90-day plan** sized to your team and budget
- **No sales pitch**: if we are not the right fit, we will say so
"""
DEMO_LEADS = [
    {
        "email": "maria.gonzalez@northwind.example",
        "first_name": "Maria",
        "last_name": "Gonzalez",
        "company": "Northwind Traders",
        "job_title": "Marketing Director",
        "company_size": "250-999",
        "country": "ES",
        "time_zone": "Europe/Madrid",
    },
    {
        "email": "sam.okafor@brightlabs.example",
        "first_name": "Sam",
        "last_name": "Okafor",
        "company": "Bright Labs",
        "job_title": "Founder",
        "company_size": "10-49",
        "country": "NG",
        "time_zone": "Africa/Lagos",
    },
    {
        "email": "li.wei@student.example",
        "first_name": "Li",
        "last_name": "Wei",
        "company": "",
        "job_title": "Student",
        "country": "SG",
        "time_zone": "Asia/Singapore",
    },
]
ANSWERS = ["Ready to start within a month", "In 1–3 months", "Just researching"]
# Pricing-page views after the form: +10 each under the default rules. Maria (55 from who
# she is) turns hot; Sam (10) warms up.
PRICING_VIEWS = {"maria.gonzalez@northwind.example": 2, "sam.okafor@brightlabs.example": 3}


class Command(BaseCommand):
    help = "Create the demo landing page, campaign, leads and the marketer and sales logins."

    def handle(self, *args: Any, **options: Any) -> None:
        password = _demo_password()
        with transaction.atomic():
            campaign, _ = Campaign.objects.get_or_create(
                utm_campaign="spring-consult",
                defaults={
                    "name": "Spring consultation push",
                    "channel": "paid_search",
                    "spend": 1500,
                    "currency": "USD",
                    "starts_on": date(2026, 3, 1),
                },
            )
            page, _ = LandingPage.objects.get_or_create(
                slug="free-consultation",
                defaults={
                    "title": "Free consultation",
                    "headline": "Turn more of your visitors into customers",
                    "body": DEMO_PAGE_BODY,
                    # Short, so the button is above a laptop's fold: the rest is asked of
                    # a returning lead (progressive profiling), never twice.
                    "kind": LandingPage.Kind.CONSULTATION,
                    "fields_shown": ["first_name", "company", "job_title"],
                    "fields_required": ["first_name", "company"],
                    "fields_later": ["last_name", "phone", "company_size", "country"],
                    "qualifying_question": "When would you like to start?",
                    "qualifying_choices": "\n".join(ANSWERS),
                    "consent_text": "I agree to receive emails about my inquiry. "
                    "I can unsubscribe at any time.",
                    "cta_label": "Book my free consultation",
                    "testimonial": "Within two months our demo requests doubled, and our "
                    "sales team finally knows who to call first.",
                    "testimonial_author": "Dana Ruiz, Head of Growth at Fieldstone",
                    "campaign": campaign,
                    "published": True,
                },
            )
            seed_default_sequence(page=page)
            seed_demo_journeys(page=page)
            seed_default_scoring()
            marketer = _user("marketer", password=password, staff=True, group=MARKETERS)
            sales = _user("sales", password=password, staff=False, group=SALES_REPS)
            RepProfile.objects.get_or_create(user=sales)
            if not page.submissions.exists():
                for index, lead in enumerate(DEMO_LEADS):
                    captured = capture_submission(
                        page=page,
                        data=lead,
                        tracking=Tracking(
                            utm={
                                "utm_source": "google",
                                "utm_medium": "cpc",
                                "utm_campaign": "spring-consult",
                            }
                        ),
                        answer=ANSWERS[index % len(ANSWERS)],
                        consent_given=True,
                    )
                    # Announced here, not by a worker (none may run yet): the demo is
                    # scored and enrolled when this command ends.
                    process_submission(submission_id=captured.submission.pk)
                for email, views in PRICING_VIEWS.items():
                    viewer = Lead.objects.get(email=email)
                    for _ in range(views):
                        # Rescored on commit, by scoring's receiver, like a real visit.
                        record_activity(
                            lead=viewer,
                            kind=Activity.Kind.PAGE_VIEWED,
                            metadata={"url": f"{settings.SITE_URL}/pricing"},
                        )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Landing page: {settings.SITE_URL}/l/{page.slug}/")
        self.stdout.write(
            f"  Admin:        {settings.SITE_URL}/admin/  (login {marketer.username} / {password})"
        )
        self.stdout.write(
            f"  Sales:        {settings.SITE_URL}/sales/  (login {sales.username} / {password})"
        )


def _demo_password() -> str:
    """DEMO_PASSWORD, else one generated once and kept under var/ so reruns print it."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    path = Path(settings.VAR_DIR) / "demo-password"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def _user(username: str, *, password: str, staff: bool, group: str) -> User:
    user, _ = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@leadfunnel.localhost"}
    )
    user.is_staff = staff
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=group))
    return user
