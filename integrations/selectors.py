"""Reads shared by the admin and the API: audience segments and their hashed export."""

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
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
    user: User | AnonymousUser,
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


def keyset_rows(
    rows: QuerySet[Any], *, key: str, fields: Sequence[str], page: int = BATCH
) -> Iterator[tuple[Any, ...]]:
    """`rows` as (key, *fields) tuples in `key` order, read a page at a time by keyset:
    no long transaction or open cursor while the reader is slow, flat memory at any size."""
    last: Any = None
    while True:
        chunk = rows if last is None else rows.filter(**{f"{key}__gt": last})
        found = list(chunk.order_by(key).values_list(key, *fields)[:page])
        yield from found
        if len(found) < page:
            return
        last = found[-1][0]


def hashed_audience_csv(leads: QuerySet[Lead]) -> Iterator[str]:
    """The CSV's lines, read in primary-key pages while a slow client downloads."""
    yield "email\n"
    for _pk, email in keyset_rows(leads, key="pk", fields=["email"]):
        yield hash_email(email) + "\n"
