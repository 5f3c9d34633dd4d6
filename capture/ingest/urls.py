"""Routes gathered into /api/v1/ by api.urls."""

from django.urls import path

from capture.ingest import views

urlpatterns = [
    path("capture/<slug:slug>/", views.CaptureView.as_view(), name="capture-submit"),
    path("activities/", views.ActivitiesView.as_view(), name="activity-ingest"),
    path("track/", views.TrackView.as_view(), name="track"),
]
