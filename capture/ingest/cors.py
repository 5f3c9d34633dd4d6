"""Which origins may call the public endpoints from a browser (django-cors-headers' signal).

settings.CORS_ALLOWED_ORIGINS is empty: nothing is allowed globally. A landing page's
"sites allowed to embed the form" may call that page's capture endpoint; the tracking
collector takes any published page's listed sites, plus settings.TRACKING_ALLOWED_ORIGINS.
"""

import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from capture.models import LandingPage

_CAPTURE_PATH = re.compile(r"/api/v1/capture/(?P<slug>[-a-zA-Z0-9_]+)/")
_TRACK_PATH = "/api/v1/track/"


def allow_listed_origins(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    """The check_request_enabled receiver; runs for every request, so it bails out cheaply."""
    path, origin = request.path_info, request.headers.get("Origin", "")
    if not origin or not path.startswith("/api/v1/"):
        return False
    return origin_allowed(path=path, origin=origin)


def origin_allowed(*, path: str, origin: str) -> bool:
    wanted = _normalise(origin)
    if not wanted.startswith(("http://", "https://")):
        return False  # "null" (sandboxed frames, file://) is never listed
    if match := _CAPTURE_PATH.fullmatch(path):
        pages = LandingPage.objects.filter(slug=match["slug"], published=True)
    elif path == _TRACK_PATH:
        if wanted in {_normalise(listed) for listed in settings.TRACKING_ALLOWED_ORIGINS}:
            return True
        pages = LandingPage.objects.filter(published=True, embed_origins__icontains=wanted)
    else:
        return False
    if not wanted.startswith("https://"):
        return False  # as in the embed's frame-ancestors: a page lists https sites only
    return any(
        wanted == _normalise(listed)
        for origins in pages.values_list("embed_origins", flat=True)
        for listed in origins.split()
    )


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
