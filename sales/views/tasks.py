"""A rep's tasks: adding one on a lead's page, completing one (with its outcome) there or on
the dashboard."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from capture.models import Lead
from leadfunnel.auth import signed_in
from sales.forms import TaskForm
from sales.models import Task
from sales.selectors import lead_get_for_user, rep_speed_to_contact
from sales.selectors.tasks import task_get_for_user
from sales.services import tasks as task_services
from sales.services.leads import ActionRefused
from sales.views.common import is_htmx, safe_next, sales_view, zone_of
from sales.views.dashboard import my_day_context
from sales.views.leads import _lead_page as lead_page


@sales_view("capture.view_lead", "sales.add_task")
@require_POST
def add_task(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead_get_for_user(user=request.user, lead_id=lead_id)
    form = TaskForm(request.POST)
    if not form.is_valid():
        return lead_page(request, lead_id, error=form.error_text(), status=400)
    try:
        # A task added on the page is the signed-in rep's own follow-up.
        task_services.create_task(
            lead_id=lead_id,
            title=form.cleaned_data["title"],
            due_at=form.due_at(zone=zone_of(request)),
            note=form.cleaned_data["note"],
            owner_id=request.user.pk,
        )
    except ActionRefused as refused:
        return lead_page(request, lead_id, error=refused.message, status=refused.status)
    except Lead.DoesNotExist as exc:  # deleted between the check and the lock
        raise Http404("No such lead") from exc
    messages.success(request, "Task added.")
    return redirect(reverse("sales:lead", args=[lead_id]))


@sales_view("sales.view_task", "sales.change_task")
@require_POST
def complete_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    try:
        task = task_services.complete_task(
            task_id=task.pk,
            actor=signed_in(request.user),
            # No outcome sent (an older page, a plain button): the task is simply done.
            outcome=request.POST.get("outcome", Task.Outcome.DONE),
            note=request.POST.get("note", ""),
        )
    except ActionRefused as refused:
        if is_htmx(request):
            return HttpResponse(refused.message, status=refused.status, content_type="text/plain")
        return lead_page(request, task.lead_id, error=refused.message, status=refused.status)
    except Task.DoesNotExist as exc:  # deleted meanwhile (with its lead)
        raise Http404("No such task") from exc
    if is_htmx(request):
        # The dashboard's list: the done row, and (out of band) its heading's counts and the
        # speed to lead figures, which must not go on saying "1 overdue": computed afresh,
        # not read from the cache the completion forgets on commit.
        now = timezone.now()
        context = {
            "task": task,
            "speeds": rep_speed_to_contact(now=now),
            **my_day_context(request, now=now),
        }
        return render(request, "sales/_task_done.html", context)
    messages.success(request, f"Done: {task.title}")
    return redirect(safe_next(request, default=reverse("sales:lead", args=[task.lead_id])))
