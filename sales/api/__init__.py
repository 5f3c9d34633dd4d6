"""Sales' REST endpoints under /api/v1/: leads, their timeline, notes, stage, owner; metrics;
tasks."""

from django.urls import path

from sales.api import leads, metrics, tasks

urlpatterns = [
    path("leads/", leads.LeadListView.as_view(), name="leads"),
    path("leads/<int:lead_id>/", leads.LeadDetailView.as_view(), name="lead"),
    path("leads/<int:lead_id>/stage/", leads.LeadStageView.as_view(), name="lead-stage"),
    path("leads/<int:lead_id>/owner/", leads.LeadOwnerView.as_view(), name="lead-owner"),
    path("leads/<int:lead_id>/notes/", leads.LeadNotesView.as_view(), name="lead-notes"),
    path("leads/<int:lead_id>/timeline/", leads.LeadTimelineView.as_view(), name="lead-timeline"),
    path("metrics/", metrics.MetricsView.as_view(), name="metrics"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("tasks/<int:pk>/complete/", tasks.TaskCompleteView.as_view(), name="task-complete"),
]
