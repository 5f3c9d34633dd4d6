"""Rows of the authorization table (test_authorization.py) for the sales pipeline board.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS: the board adds no model.
"""

from tests.security.roles import (
    ANON,
    FORBIDDEN,
    LOGIN,
    MARKETER,
    NOT_ALLOWED,
    REP,
    SUPERUSER,
    sales_page,
)

# The board is read as the dashboard is (reps and marketers); moving a card is a rep's
# (capture.claim_lead, the Sales reps group's alone): a marketer's request is a 403.
ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "sales/board/": ("/sales/board/", sales_page()),
    "sales/board/leads/<int:lead_id>/move/": (
        "/sales/board/leads/{lead}/move/",
        {ANON: LOGIN, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}


def objects() -> dict[str, object]:
    """The board's URLs need only the table's own lead."""
    return {}
