"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

from tests.security.roles import FORBIDDEN, OK, everyone

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    # The schema and its docs are public: an integrator reads them before having a token.
    "api/schema/": ("/api/schema/", everyone(OK)),
    "api/docs/": ("/api/docs/", everyone(OK)),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Integration tokens are made and revoked by a superuser (DRF's authtoken admin).
    "authtoken.tokenproxy": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    return {}
