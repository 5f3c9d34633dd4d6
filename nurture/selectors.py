"""Nurture's reads shared by admin, dashboard and API."""

import uuid

from django.db.models import BigIntegerField, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from capture.models import ERASED_EMAIL_DOMAIN, Activity, LandingPage, Lead
from nurture.models import Delivery, Enrollment, Sequence, Suppression, Trigger

PREVIEW_CHOICES = 20


def lead_for_link(*, lead_id: int, lead_uid: uuid.UUID | None) -> Lead | None:
    """The lead an emailed link was made for, or None once erasure has given it a new uid.

    Every emailed link goes through here or `delivery_for_link`, so an erased lead's links
    all do nothing in the same way. A link older than uids in tokens (`lead_uid=None`)
    finds the lead by its row unless it was erased."""
    return Lead.objects.filter(_link_names("", lead_uid), pk=lead_id).first()


def delivery_for_link(*, delivery_id: int, lead_uid: uuid.UUID | None) -> Delivery | None:
    return (
        Delivery.objects.select_related("enrollment__lead", "step")
        .filter(_link_names("enrollment__lead__", lead_uid), pk=delivery_id)
        .first()
    )


def starts_from_page(*, landing_page_id: int) -> bool:
    """Whether a live day list or journey enrolls the leads this page captures."""
    live = Sequence.Status.ACTIVE
    if Sequence.objects.filter(
        status=live, kind=Sequence.Kind.DAYS, entry_pages=landing_page_id
    ).exists():
        return True
    pages = Trigger.objects.filter(
        kind=Trigger.Kind.FORM, sequence__status=live, sequence__kind=Sequence.Kind.JOURNEY
    ).values_list("config", flat=True)
    # As triggers.matches reads a form trigger: no page is every page.
    return any(
        (config or {}).get("page") in (None, "") or str(config["page"]) == str(landing_page_id)
        for config in pages
    )


def double_opt_in_unsent(page: LandingPage) -> str:
    """A double opt-in page that no live journey starts from sends no confirmation at all."""
    if not page.double_opt_in or starts_from_page(landing_page_id=page.pk):
        return ""
    return (
        "Double opt-in is on, but no live journey or day list starts from this page, so no "
        "confirmation email goes out and its leads are never confirmed. Add the page to a "
        "journey's form trigger (or a day list's entry pages), or turn double opt-in off."
    )


def left_before_confirming(*, lead: Lead) -> bool:
    """The lead unsubscribed (or was suppressed) while a double opt-in waited for its click:
    nothing awaits confirmation any more, so confirming would send nothing."""
    if is_suppressed(email=lead.email):
        return True
    unconfirmed = Enrollment.objects.filter(
        lead=lead, needs_confirmation=True, confirmed_at__isnull=True
    )
    if unconfirmed.filter(state=Enrollment.State.ACTIVE).exists():
        return False
    left = (Enrollment.ExitReason.UNSUBSCRIBED, Enrollment.ExitReason.SUPPRESSED)
    return unconfirmed.filter(state=Enrollment.State.EXITED, exit_reason__in=left).exists()


def _link_names(lead: str, lead_uid: uuid.UUID | None) -> Q:
    if lead_uid is None:
        return ~Q(**{f"{lead}email__endswith": "@" + ERASED_EMAIL_DOMAIN})
    return Q(**{f"{lead}uid": lead_uid})


def is_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email=email).exists()


def mailable_leads(*, search: str = "") -> QuerySet[Lead]:
    """Leads a marketer may preview a step for: never a suppressed address."""
    leads = Lead.objects.exclude(
        Exists(Suppression.objects.filter(email=OuterRef("email")))
    ).order_by("email")
    if search:
        leads = leads.filter(
            Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(company__icontains=search)
        )
    return leads


def step_figures(*, step_id: int) -> dict[str, int]:
    """Scheduled, sent, opened, clicked, unsubscribed, bounced and booked-after, per step."""
    figures = Delivery.objects.filter(step_id=step_id).aggregate(
        scheduled=Count("pk", filter=Q(status__in=["scheduled", "queued", "sending"])),
        sent=Count("pk", filter=Q(status="sent")),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        failed=Count("pk", filter=Q(status="failed")),
    )
    delivery_ids = Delivery.objects.filter(step_id=step_id).values("pk")
    by_kind = dict(
        Activity.objects.filter(kind__in=[Activity.Kind.UNSUBSCRIBED, Activity.Kind.EMAIL_BOUNCED])
        .alias(delivery_id=Cast(KT("metadata__delivery_id"), BigIntegerField()))
        .filter(delivery_id__in=delivery_ids)
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    booked = (
        Delivery.objects.filter(
            step_id=step_id,
            status="sent",
            enrollment__lead__activities__kind=Activity.Kind.BOOKING_MADE,
        )
        .values("enrollment__lead")
        .distinct()
        .count()
    )
    return {
        **figures,
        "unsubscribed": by_kind.get(Activity.Kind.UNSUBSCRIBED, 0),
        "bounced": by_kind.get(Activity.Kind.EMAIL_BOUNCED, 0),
        "booked after": booked,
    }
