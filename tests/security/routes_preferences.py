"""Rows of the authorization table (test_authorization.py) for the preference centre: the
page's own POST is authorised by the signed token in its address, never by a login (a GET
sends everyone to the page itself, /u/<token>/; the page, CSRF and bad tokens are tested in
tests/nurture/test_preferences.py), and the admin's topics and consent log."""

from tests.security.roles import FORBIDDEN, FOUND, OK, everyone

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "u/<str:token>/preferences/": ("/u/{unsubscribe}/preferences/", everyone(FOUND)),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Marketers keep the topics; the consent log is evidence: read-only, nothing to add.
    "nurture.subscriptiontopic": ((OK, OK), (OK, OK)),
    "nurture.consentrecord": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
}


def objects() -> dict[str, object]:
    return {}
