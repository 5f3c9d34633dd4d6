"""What a higher app says a landing page's settings promise but will not do, shown to the
marketer when they save it (the admin): capture sits below the apps that act on a capture
and imports none of them, so they register their checks here in their AppConfig.ready.

Each check returns a sentence for the marketer, or "" when all is well.
"""

from collections.abc import Callable

from capture.models import LandingPage

CHECKS: list[Callable[[LandingPage], str]] = []


def warnings_for(page: LandingPage) -> list[str]:
    return [warning for check in CHECKS if (warning := check(page))]
