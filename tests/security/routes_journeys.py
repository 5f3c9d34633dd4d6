"""Rows of the authorization table (test_authorization.py) for journeys in the admin: the
map, its dry run and report are marketers' pages; reps are not staff."""

from nurture.models import Sequence
from tests.security.roles import OK, admin_page

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "admin/nurture/journey/<int:journey_id>/map/": (
        "/admin/nurture/journey/{journey}/map/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/dry-run/": (
        "/admin/nurture/journey/{journey}/dry-run/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/report/": (
        "/admin/nurture/journey/{journey}/report/",
        admin_page(),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "nurture.journey": ((OK, OK), (OK, OK)),
}


def objects() -> dict[str, object]:
    from tests.journeys.builders import playbook

    return {"journey": playbook().pk}
