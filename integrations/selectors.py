"""Reads shared by the admin and the API: audience segments and their hashed export."""

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from capture.models import Activity, Lead
from capture.services import normalise_email
from integrations.services.privacy import ERASED_DOMAIN
from nurture.models import Suppression
from sales.selectors.dashboard import DashboardFilters, filtered_leads

BATCH = 5000


class Behaviour:
    ANYONE = ""
    OPENED_NOT_CLICKED = "opened_not_clicked"
    CLICKED = "clicked"
    VIEWED_PAGE = "viewed_page"
    INACTIVE = "inactive"

    choices = (
        (ANYONE, "Anyone in the segment"),
        (OPENED_NOT_CLICKED, "Opened an email but did not click one"),
        (CLICKED, "Clicked an email"),
        (VIEWED_PAGE, "Viewed a page of the website"),
        (INACTIVE, "Did nothing at all"),
    )


def audience_leads(
    *,
    filters: DashboardFilters,
    user: AbstractBaseUser | AnonymousUser,
    behaviour: str = Behaviour.ANYONE,
    days: int = 7,
    consented_only: bool = False,
    now: datetime | None = None,
) -> QuerySet[Lead]:
    """The dashboard's filters, narrowed by what leads did in the last `days` days.

    Erased leads and suppressed addresses (unsubscribed, complained, bounced, added by
    hand) are never in an audience: opting out of email is taken as opting out of being
    matched for ads too.
    """
    since = (now or timezone.now()) - timedelta(days=days)
    recent = Activity.objects.filter(lead=OuterRef("pk"), occurred_at__gte=since)
    leads = filtered_leads(filters=filters, user=user)
    if behaviour == Behaviour.OPENED_NOT_CLICKED:
        leads = leads.filter(Exists(recent.filter(kind=Activity.Kind.EMAIL_OPENED))).exclude(
            Exists(recent.filter(kind=Activity.Kind.EMAIL_CLICKED))
        )
    elif behaviour == Behaviour.CLICKED:
        leads = leads.filter(Exists(recent.filter(kind=Activity.Kind.EMAIL_CLICKED)))
    elif behaviour == Behaviour.VIEWED_PAGE:
        leads = leads.filter(Exists(recent.filter(kind=Activity.Kind.PAGE_VIEWED)))
    elif behaviour == Behaviour.INACTIVE:
        leads = leads.exclude(Exists(recent))
    if consented_only:
        leads = leads.filter(consent_given_at__isnull=False)
    return leads.exclude(email__endswith="@" + ERASED_DOMAIN).exclude(
        Exists(Suppression.objects.filter(email=OuterRef("email")))
    )


def hash_email(email: str) -> str:
    """SHA-256 hex of the trimmed, lower-cased address: Google Customer Match's and Meta's
    custom audiences' format. Gmail's dots and +tags are left as they are."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def hashed_audience_csv(leads: QuerySet[Lead]) -> Iterator[str]:
    """The CSV's lines, read in primary-key pages: no long transaction or open cursor
    while a slow client downloads."""
    yield "email\n"
    last = 0
    while True:
        page = list(leads.filter(pk__gt=last).order_by("pk").values_list("pk", "email")[:BATCH])
        for _pk, email in page:
            yield hash_email(email) + "\n"
        if len(page) < BATCH:
            return
        last = page[-1][0]
