"""The hot-lead dashboard and its live fragment."""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from leadfunnel.auth import signed_in
from leadfunnel.groups import CLAIM_LEAD
from sales.forms import DashboardFilterForm, SavedViewForm
from sales.models import Task
from sales.selectors import (
    Cursor,
    DashboardFilters,
    dashboard_page,
    new_hot_leads,
    recent_rep_speeds,
)
from sales.selectors.dashboard import OPEN
from sales.selectors.saved_views import views_for
from sales.selectors.tasks import tasks_for_today
from sales.services.tasks import WORK_TASKS
from sales.templatetags.sales_tags import tel_href
from sales.views.common import sales_view, zone_of

POLL_SECONDS = 10
_PLACEHOLDER = 987654321


@sales_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or None)
    errors: list[str] = []
    if form.is_bound and not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    after = None
    if request.GET.get("after"):
        try:
            after = Cursor.decode(request.GET["after"])
        except ValueError:
            errors.append("That page link is broken; here is the first page.")
    # Bad filters show the default list: the open leads.
    filters = DashboardFilters(stage=OPEN) if errors else form.filters(zone=zone_of(request))
    page = dashboard_page(filters=filters, user=request.user, after=None if errors else after)
    # One reverse for the page, not two per row: rendering is most of a page's time.
    lead_path = reverse("sales:lead", args=[_PLACEHOLDER])
    for row in page.rows:
        row.url = lead_path.replace(str(_PLACEHOLDER), str(row.lead.pk))
    next_query = None
    if page.next_cursor is not None:
        query = request.GET.copy()
        query["after"] = page.next_cursor.encode()
        next_query = query.urlencode()
    first_query = request.GET.copy()
    first_query.pop("after", None)
    now = timezone.now()
    can_change = request.user.has_perm("capture.change_lead")
    my_day = my_day_context(request, now=now)
    my_views, shared_views = views_for(user=signed_in(request.user))
    rows = render_to_string(
        "sales/_rows.html",
        {
            "rows": page.rows,
            "can_change": can_change,
            "can_claim": request.user.has_perm(CLAIM_LEAD),
            "here": request.get_full_path(),
            "csrf": get_token(request),
            "tel": tel_href,
        },
        request=request,
        using="jinja2",
    )
    context = {
        "form": form,
        "errors": errors,
        "page": page,
        "rows": mark_safe(rows),  # noqa: S308 - rendered by Jinja2 with autoescaping
        "next_query": next_query,
        "first_query": first_query.urlencode(),
        "paged": after is not None and not errors,
        "since": f"{now.timestamp():.6f}",
        "speeds": recent_rep_speeds(now=now),
        "poll_seconds": POLL_SECONDS,
        "can_change": can_change,
        **my_day,
        "task_outcomes": Task.REP_OUTCOMES,
        "now": now,
        "my_views": my_views,
        "shared_views": shared_views,
        "save_view_form": SavedViewForm(initial={"query": first_query.urlencode()}),
    }
    return render(request, "sales/dashboard.html", context, status=400 if errors else 200)


def my_day_context(request: HttpRequest, *, now: datetime) -> dict[str, Any]:
    """ "My tasks today" and its heading's counts ("1 overdue · 3 due by tonight"): the
    rep's own day; only someone who works tasks has any (marketers do not)."""
    today_tasks = (
        tasks_for_today(user=request.user, now=now, zone=zone_of(request))
        if request.user.has_perm(WORK_TASKS)
        else None
    )
    overdue = sum(1 for task in today_tasks or [] if task.due_at < now)
    return {
        "today_tasks": today_tasks,
        "overdue_count": overdue,
        "due_today_count": len(today_tasks or []) - overdue,
    }


@sales_view()
def live(request: HttpRequest) -> HttpResponse:
    """Polled by htmx: how many leads turned hot since the page was loaded, and the newest."""
    try:
        since = datetime.fromtimestamp(float(request.GET.get("since", "")), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return HttpResponse("Bad 'since' timestamp.", status=400, content_type="text/plain")
    count, newest = new_hot_leads(since=since)
    context = {
        "count": count,
        "newest": newest,
        "since": request.GET["since"],
        "poll_seconds": POLL_SECONDS,
    }
    return render(request, "sales/_live.html", context)
