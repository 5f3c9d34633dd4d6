from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "leadfunnel"
admin.site.site_title = "leadfunnel admin"
admin.site.index_title = "Marketing"


def bare(request: HttpRequest) -> HttpResponse:
    """The benchmark's baseline: the same server and middleware, no work."""
    return HttpResponse(b"ok", content_type="text/plain")


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("leadfunnel/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(url="/l/free-consultation/", permanent=False)),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("capture.urls")),
    path("", include("nurture.urls")),
    path("anymail/", include("anymail.urls")),
    path("sales/", include("sales.urls")),
    path("book/", include("sales.booking_urls")),
]
if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/bare/", bare))
