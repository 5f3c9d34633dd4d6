"""What the import tests share: a marketer's upload of a small CSV, mapped as the form does."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from integrations.models import LeadImport
from integrations.services import importing

HEADER = "Email,First Name,Last Name,Company,Job Title,Time zone,Country,Campaign\n"
CONSENT = "Met us at the 2026 expo and asked to hear from us."
Runner = Callable[[LeadImport], LeadImport]


class WorkerLost(BaseException):
    """A killed worker: nothing in the process gets to handle it."""


def upload(user: User, body: str, *, header: str = HEADER, name: str = "leads.csv") -> LeadImport:
    return importing.create_import(file_name=name, raw=(header + body).encode(), user=user)


def mapped(lead_import: LeadImport, **options: Any) -> LeadImport:
    return importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe=options.get("dedupe", LeadImport.Dedupe.FILL_EMPTY),
        sequence=options.get("sequence"),
        consent_text=CONSENT,
    )
