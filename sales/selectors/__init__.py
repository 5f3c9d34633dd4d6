"""Sales' reads shared by views, API and tasks: the dashboard, a lead's page, the funnel."""

from sales.selectors.dashboard import (
    Cursor,
    DashboardFilters,
    dashboard_page,
    leads_for_dashboard,
    new_hot_leads,
    recent_rep_speeds,
    rep_speed_to_contact,
)
from sales.selectors.lead import lead_get_for_user, lead_workspace
from sales.selectors.metrics import funnel_metrics, metrics_csv_rows

__all__ = [
    "Cursor",
    "DashboardFilters",
    "dashboard_page",
    "funnel_metrics",
    "lead_get_for_user",
    "lead_workspace",
    "leads_for_dashboard",
    "metrics_csv_rows",
    "new_hot_leads",
    "recent_rep_speeds",
    "rep_speed_to_contact",
]
