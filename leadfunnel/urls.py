from collections.abc import Callable
from functools import wraps
from typing import Any

from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, include, path
from django.views.generic import RedirectView

from sales.urls import booking_urlpatterns

admin.site.site_header = "leadfunnel"
admin.site.site_title = "leadfunnel admin"
admin.site.index_title = "Marketing"


def bare(request: HttpRequest) -> HttpResponse:
    """The benchmark's baseline: the same server and middleware, no work."""
    return HttpResponse(b"ok", content_type="text/plain")


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("leadfunnel/favicon.svg"))


def _needs_webhook_secret(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An ESP webhook answers only once ANYMAIL_WEBHOOK_SECRET is set.

    Without the shared secret django-anymail accepts anyone's POST, and a forged bounce or
    complaint would suppress any address. Read per request, so tests can set the secret.
    """

    @wraps(view)  # keeps csrf_exempt: the ESP has no CSRF token, the secret authenticates it
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404("No such page")
        return view(request, *args, **kwargs)

    return guarded


def _esp_webhooks() -> list[URLPattern]:
    """django-anymail's webhooks, only the configured ESP's when ESP is set."""
    return [
        URLPattern(
            pattern.pattern,
            _needs_webhook_secret(pattern.callback),
            pattern.default_args,
            pattern.name,
        )
        for pattern in anymail_urls.urlpatterns
        if not settings.ESP or str(pattern.pattern).lstrip("^").startswith(f"{settings.ESP}/")
    ]


urlpatterns = [
    path("", RedirectView.as_view(url="/l/free-consultation/", permanent=False)),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("capture.urls")),
    path("", include("nurture.urls")),
    path("anymail/", include((_esp_webhooks(), "anymail"))),
    path("sales/", include("sales.urls")),
    path("book/", include((booking_urlpatterns, "booking"))),
    path("api/", include("api.urls")),
]
if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/bare/", bare))

# Unrouted URLs under /api/ answer the API's JSON error, not Django's HTML page.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
