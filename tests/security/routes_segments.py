"""Rows of the authorization table (test_authorization.py) for segments and audience syncs:
the builder's POST-only live count and sample (405 to a GET once past the admin's checks),
the segments API (marketers write, reps read: the groups' model permissions), and the admin
models."""

from segments.models import Segment
from tests.security.roles import ANON, MARKETER, NOT_ALLOWED, OK, REP, SUPERUSER, admin_page

_API_READ = {ANON: "401", REP: OK, MARKETER: OK, SUPERUSER: OK}
ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "admin/segments/segment/preview/": (
        "/admin/segments/segment/preview/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/segments/segment/sample/": ("/admin/segments/segment/sample/", admin_page(NOT_ALLOWED)),
    "api/v1/segments/": ("/api/v1/segments/", _API_READ),
    "api/v1/segments/<int:pk>/": ("/api/v1/segments/{segment}/", _API_READ),
    "api/v1/segments/<int:pk>/members/": ("/api/v1/segments/{segment}/members/", _API_READ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "segments.segment": ((OK, OK), (OK, OK)),
    # Marketers set up ad-audience syncs; the run log is an inline of the sync's page.
    "integrations.audiencesync": ((OK, OK), (OK, OK)),
}


def objects() -> dict[str, object]:
    return {"segment": Segment.objects.create(name="Hot leads (routes)").pk}
