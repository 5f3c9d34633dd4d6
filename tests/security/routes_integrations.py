"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

from integrations.models import LeadImport
from tests.security.roles import (
    ANON,
    MARKETER,
    NOT_ALLOWED,
    OK,
    REP,
    SUPERUSER,
    admin_page,
)

# The API answers a stranger 401 (token authentication first), a sales rep 403; marketers
# hold integrations.fulfil_privacy_request (integrations' groups migration).
ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "admin/integrations/leadimport/<int:import_id>/mapping/": (
        "/admin/integrations/leadimport/{lead_import}/mapping/",
        admin_page(),
    ),
    "admin/integrations/leadimport/<int:import_id>/start/": (
        "/admin/integrations/leadimport/{lead_import}/start/",
        admin_page(NOT_ALLOWED),
    ),
    # GET shows the confirmation; only its POST erases.
    "admin/integrations/privacyrequest/erase/<int:lead_id>/": (
        "/admin/integrations/privacyrequest/erase/{lead}/",
        admin_page(),
    ),
    "api/v1/leads/<int:lead_id>/privacy-export/": (
        "/api/v1/leads/{lead}/privacy-export/",
        {ANON: "401", REP: "403", MARKETER: OK, SUPERUSER: OK},
    ),
    "api/v1/leads/<int:lead_id>/erase/": (
        "/api/v1/leads/{lead}/erase/",
        {ANON: "401", REP: "403", MARKETER: NOT_ALLOWED, SUPERUSER: NOT_ALLOWED},
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # The add pages are the workflows (upload, segment, privacy request); the lists are
    # their history.
    "integrations.leadimport": ((OK, OK), (OK, OK)),
    "integrations.audienceexport": ((OK, OK), (OK, OK)),
    "integrations.privacyrequest": ((OK, OK), (OK, OK)),
}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    lead_import = LeadImport.objects.create(
        file_name="leads.csv",
        csv_text="email\nada@example.com\n",
        headers=["email"],
        total_rows=1,
    )
    return {"lead_import": lead_import.pk}
