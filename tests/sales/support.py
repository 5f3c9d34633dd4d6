"""Helpers shared by the sales workspace tests (not test_booking.py's)."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User

from capture.models import Activity, Lead
from capture.services import note_latest_activity
from leadfunnel.groups import SALES_REPS
from sales.models import RepProfile
from tests.factories import LeadFactory


def make_rep(username: str, *, email: str | None = None, **profile: Any) -> User:
    """An active sales rep with a RepProfile (takes leads unless told otherwise)."""
    user = User.objects.create_user(
        username, email=f"{username}@leadfunnel.example" if email is None else email
    )
    user.groups.add(Group.objects.get(name=SALES_REPS))
    RepProfile.objects.create(user=user, **profile)
    return user


def make_lead(*, created_at: datetime | None = None, **fields: Any) -> Lead:
    lead = LeadFactory(**fields)
    if created_at is not None:
        Lead.objects.filter(pk=lead.pk).update(created_at=created_at, last_activity_at=created_at)
        lead.refresh_from_db()
    return lead


def make_activity(lead: Lead, kind: str, at: datetime, **metadata: Any) -> Activity:
    """An activity at `at`, with the lead's latest-activity time kept as capture keeps it."""
    activity = Activity.objects.create(lead=lead, kind=kind, occurred_at=at, metadata=metadata)
    note_latest_activity(latest={lead.pk: at})
    return activity
