"""Rows of the authorization table (test_authorization.py) for branded landing pages.

The live preview is an admin view for those who may change (or add) a landing page; it is
POST-only, so a GET that passed the checks answers 405. A page's image is public like the
page; the table's page has none, so everyone gets a 404.
"""

from tests.security.roles import NOT_ALLOWED, NOT_FOUND, OK, admin_page, everyone

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "l/<slug:slug>/image/<str:name>/": ("/l/{slug}/image/hero/", everyone(NOT_FOUND)),
    "admin/capture/landingpage/preview/": (
        "/admin/capture/landingpage/preview/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/capture/landingpage/<path:object_id>/preview/": (
        "/admin/capture/landingpage/{page}/preview/",
        admin_page(NOT_ALLOWED),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "capture.brand": ((OK, OK), (OK, OK)),
}


def objects() -> dict[str, object]:
    """The table's own landing page is enough."""
    return {}
