"""Rows of the authorization table (test_authorization.py) for sales tasks' routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

from django.utils import timezone

from sales.models import Task
from tests.factories import LeadFactory, sales_rep
from tests.security.roles import ANON, FORBIDDEN, LOGIN, MARKETER, NOT_ALLOWED, OK, REP, SUPERUSER
from tests.security.routes_api import UNAUTHORIZED, api

# Tasks are sales work: reps add and complete them, marketers only read them (least
# privilege: sales.add_task and sales.change_task are the Sales reps group's alone).
SALES_WORK = {ANON: LOGIN, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED}

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "sales/leads/<int:lead_id>/tasks/": ("/sales/leads/{lead}/tasks/", SALES_WORK),
    "sales/tasks/<int:task_id>/complete/": ("/sales/tasks/{task}/complete/", SALES_WORK),
    # The API reads for both groups (sales.view_task); completing is a rep's (change_task).
    "api/v1/tasks/": ("/api/v1/tasks/", api()),
    "api/v1/tasks/<int:pk>/complete/": (
        "/api/v1/tasks/{task}/complete/",
        {ANON: UNAUTHORIZED, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Written by the sales workspace and the API, read in the admin (nothing to add there).
    "sales.task": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    task = Task.objects.create(
        lead=LeadFactory(), owner=sales_rep(), title="Call back", due_at=timezone.now()
    )
    return {"task": task.pk}
