"""The project's URLs plus a view that crashes, under /api/ and outside it."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from leadfunnel.urls import handler404, handler500  # noqa: F401  (the handlers under test)
from leadfunnel.urls import urlpatterns as project_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash/", crash), path("crash/", crash), *project_urlpatterns]
