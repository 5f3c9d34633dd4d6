"""Roles, outcomes and row helpers of the authorization table (test_authorization.py)."""

ANON, REP, MARKETER, SUPERUSER = "anonymous", "sales rep", "marketer", "superuser"
ROLES = (ANON, REP, MARKETER, SUPERUSER)

# Outcomes: a status code, or where a refused caller is sent.
OK, MOVED, FOUND, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = "200", "301", "302", "403", "404", "405"
LOGIN, ADMIN_LOGIN = "login", "admin login"


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, outcome)


def sales_page(outcome: str = OK) -> dict[str, str]:
    """Sales pages: reps and marketers (capture.view_lead / change_lead) and superusers."""
    return {ANON: LOGIN, REP: outcome, MARKETER: outcome, SUPERUSER: outcome}


def admin_page(marketer: str = OK, superuser: str | None = None) -> dict[str, str]:
    """Admin pages: sales reps are not staff, so they go to the admin's login like strangers."""
    return {
        ANON: ADMIN_LOGIN,
        REP: ADMIN_LOGIN,
        MARKETER: marketer,
        SUPERUSER: marketer if superuser is None else superuser,
    }
