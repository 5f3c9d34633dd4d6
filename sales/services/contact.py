"""Creating a lead by hand (API) and editing its contact details.

A lead pushed by an integration has no form submission: it is inserted as it is and
rescored on commit. The unique email constraint decides duplicates: the INSERT runs in a
savepoint and its IntegrityError becomes `DuplicateEmail`, never a check-then-insert.
"""

import logging
from collections.abc import Mapping
from email.headerregistry import Address

from django.db import IntegrityError, transaction
from django.utils import timezone

from capture.models import Campaign, Lead
from capture.services import normalise_email
from leadfunnel.announce import announce_on_commit
from sales.signals import lead_created
from scoring.models import ScoreChange
from scoring.services import score_lead

logger = logging.getLogger(__name__)

# The contact details a person may edit; score, temperature, stage and owner have their
# own services, and the email is the lead's identity.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "time_zone",
)
_UNIQUE_EMAIL = "lead_email_unique"


class DuplicateEmail(Exception):
    """A lead with this email exists already."""


def create_lead(
    *,
    email: str,
    details: Mapping[str, str],
    source: str = "",
    campaign: Campaign | None = None,
    consent_text: str = "",
) -> Lead:
    """Insert one lead (stage new) and rescore it once committed."""
    values = {name: str(details[name]) for name in CONTACT_FIELDS if details.get(name)}
    lead = Lead(
        email=normalise_email(email),
        source=source,
        campaign=campaign,
        stage=Lead.Stage.NEW,
        **values,
    )
    if consent_text:
        lead.consent_given_at, lead.consent_text = timezone.now(), consent_text
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
    except IntegrityError as exc:
        if _UNIQUE_EMAIL in str(exc):
            raise DuplicateEmail(lead.email) from exc
        raise
    transaction.on_commit(lambda: _rescore(lead_id=lead.pk))
    announce_on_commit(lead_created, Lead, lead_id=lead.pk)
    return lead


def update_contact(*, lead_id: int, details: Mapping[str, str]) -> Lead:
    """Change contact fields (only those given); the lead is rescored on commit, since
    who the lead is (job title, company size…) is half of its score."""
    changes = {name: details[name] for name in CONTACT_FIELDS if name in details}
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if changes:
            for name, value in changes.items():
                setattr(lead, name, value)
            lead.save(update_fields=[*changes, "updated_at"])
            transaction.on_commit(lambda: _rescore(lead_id=lead_id))
    return lead


def _rescore(*, lead_id: int) -> None:
    # As scoring's own receivers do: the write is safe already; a failed rescoring is
    # logged and healed by the nightly run.
    try:
        score_lead(lead_id=lead_id, cause=ScoreChange.Cause.CAPTURE)
    except Lead.DoesNotExist:
        pass
    except Exception:
        logger.exception("Rescoring lead %s failed; the nightly run will catch up", lead_id)


def mailbox(*, name: str, address: str) -> str:
    """`"Zoë <b>" <zoe@example.com>` for an address header (a Reply-To that reaches the lead).

    formataddr encodes a non-ASCII name as one encoded word without quoting what it holds,
    and the receiving client decodes it back into `Zoë <b>Bold</b> <zoe@…>`: a reply went
    to "b". Address quotes the name first, so any name comes back whole; one line, always.
    """
    return str(Address(display_name=" ".join(name.split()), addr_spec=address))
