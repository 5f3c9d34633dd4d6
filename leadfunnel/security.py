"""Login throttling glue for django-axes."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client IP from the same place the capture rate limit reads it."""
    return request.META.get(settings.RATELIMIT_IP_META_KEY) or request.META.get("REMOTE_ADDR")


class LoginAttemptsBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes: untyped
    """Refuses a locked-out username+IP; lets through authentication outside a request.

    Every login form (Django's LoginView, the admin) passes the request. Code that
    authenticates without one (a shell, `seed_demo`'s checks) has nothing to throttle by,
    and axes would raise instead of saying no.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None  # axes' backend only refuses (raises); it never authenticates
