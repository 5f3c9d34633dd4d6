"""Capture's API routes, gathered into /api/v1/ by api.urls: its resources (landing pages,
campaigns, submissions) and the three ingest endpoints."""

from django.urls import path

from capture.ingest import resources, views

urlpatterns = [
    *resources.urlpatterns,
    path("capture/<slug:slug>/", views.CaptureView.as_view(), name="capture-submit"),
    path("activities/", views.ActivitiesView.as_view(), name="activity-ingest"),
    path("track/", views.TrackView.as_view(), name="track"),
]
