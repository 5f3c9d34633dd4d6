"""A consultation's booking link by email, for a submission that matched a known lead.

The thank-you page shows the lead's own booking calendar only to the lead itself (the
submission created it, or the browser's signed cookie names it): the calendar names the
lead, shows its details and books and cancels for it, and anyone can type a known address.
Everyone else is told the link is on its way, and the lead gets it here, at its address.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction

from capture import queueing
from capture.models import LandingPage, Lead
from capture.pages import booking_url_for

logger = logging.getLogger(__name__)
# At most one such email per lead in this long: the form is open to anyone, and must not be
# a way to fill a stranger's inbox.
INTERVAL = timedelta(minutes=10)
SUBJECT = "Your link to book a time"
# Why a higher app says an address must get no such email (nurture: its suppression list of
# bounces, complaints and unsubscribes), registered in its AppConfig.ready: capture sits
# below it and imports none of them. Each returns True to hold the email back.
HOLDS: list[Callable[[Lead], bool]] = []


def _cache_key(lead: Lead) -> str:
    return f"capture:booking-link:{lead.uid}"


def offer_booking_link(*, lead: Lead, page: LandingPage) -> bool:
    """Email `lead` its booking link on commit, unless one went in the last INTERVAL.

    True when one was queued. The claim is one atomic cache.add (Redis SET NX), so two
    submissions at once queue one email.
    """
    if lead.is_erased:
        return False
    try:
        claimed = cache.add(_cache_key(lead), 1, timeout=int(INTERVAL.total_seconds()))
    except Exception:
        # The cache lives in Redis, as the broker does: with it down the email could not be
        # queued anyway, and the lead still has the link its Day-1 email carries.
        logger.warning("booking link for lead %s not sent: no cache", lead.pk, exc_info=True)
        return False
    if not claimed:
        return False
    lead_id, page_id = lead.pk, page.pk
    transaction.on_commit(
        lambda: queueing.send_booking_link_soon(lead_id=lead_id, landing_page_id=page_id)
    )
    return True


def send_booking_link(*, lead_id: int, landing_page_id: int) -> bool:
    """Send the email `offer_booking_link` queued; False when there is no one to send it to
    (the lead was erased or deleted since) or a HOLDS check keeps it back."""
    lead = Lead.objects.filter(pk=lead_id).first()
    page = LandingPage.objects.filter(pk=landing_page_id).first()
    if lead is None or page is None or lead.is_erased:
        return False
    if any(hold(lead) for hold in HOLDS):
        return False
    # Nothing the submitter typed is in it (a stranger may have sent the form): the page's
    # title, the lead's own link, and what to do if it was not them.
    body = (
        "Hello,\n\n"
        f"Someone asked for “{page.title}” with this email address. If that was you, pick "
        "a time that suits you here:\n\n"
        f"{booking_url_for(lead=lead)}\n\n"
        "This link opens your own calendar, so please don't forward it. If it wasn't you, "
        "you can ignore this email.\n"
    )
    send_mail(
        subject=SUBJECT,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[lead.email],
    )
    return True
