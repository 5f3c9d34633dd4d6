"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

ROUTES: dict[str, tuple[str, dict[str, str]]] = {}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    return {}
