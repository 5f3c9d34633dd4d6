"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).

The table GETs each route: these endpoints take POST only, so a 405 means the caller got in.
The public capture and tracking endpoints let anyone in (and ignore sessions); ingesting
activities needs capture.add_activity (Marketers, superusers): anonymous callers get 401.
"""

from tests.security.roles import ANON, FORBIDDEN, MARKETER, NOT_ALLOWED, REP, SUPERUSER, everyone

UNAUTHORIZED = "401"

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "api/v1/capture/<slug:slug>/": ("/api/v1/capture/{slug}/", everyone(NOT_ALLOWED)),
    "api/v1/track/": ("/api/v1/track/", everyone(NOT_ALLOWED)),
    "api/v1/activities/": (
        "/api/v1/activities/",
        {ANON: UNAUTHORIZED, REP: FORBIDDEN, MARKETER: NOT_ALLOWED, SUPERUSER: NOT_ALLOWED},
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    return {}
