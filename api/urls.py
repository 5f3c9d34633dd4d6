"""/api/v1/ gathers each app's API routes (its `api.py`, or its API package's `urls.py`);
/api/schema/ and /api/docs/ describe them.

This module imports every app's API, like the project's urls.py imports every app's views.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

v1 = [
    # Each app appends its routes here as it gains an API.
    path("", include("nurture.api")),  # sequences, steps, enrollments
    path("", include("nurture.api_journeys")),  # journeys, nodes, edges, triggers, paths
    path("", include("sales.api")),  # leads, timeline, notes, stage, owner, metrics
    # Landing pages, campaigns, submissions; public capture, activities ingest, tracking.
    path("", include("capture.ingest.urls")),
    path("", include("integrations.api")),  # privacy export and erase
    path("", include("segments.api")),  # segments and their members
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
