"""Tasks as the rep's dashboard, a lead's page and the API read them."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from sales.models import Task

TODAY_LIMIT = 100
RECENT_DONE = 5


@dataclass(frozen=True)
class LeadTasks:
    open: list[Task]
    done: list[Task]


def end_of_day(*, now: datetime, zone: ZoneInfo) -> datetime:
    """The next local midnight in `zone` (DST-safe: computed on the local date, not +24h)."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone)


def tasks_for_today(*, user: User | AnonymousUser, now: datetime, zone: ZoneInfo) -> list[Task]:
    """The user's open tasks due by the end of their today, the longest overdue first.

    Reads the partial (owner, due_at) index of open tasks: the rep's done tasks cost nothing.
    """
    return list(
        Task.objects.filter(
            owner_id=user.pk, completed_at__isnull=True, due_at__lt=end_of_day(now=now, zone=zone)
        )
        .select_related("lead")
        .order_by("due_at", "pk")[:TODAY_LIMIT]
    )


def lead_tasks(*, lead_id: int, done: int = RECENT_DONE) -> LeadTasks:
    """The lead's open tasks in due order, and the few it had done most recently."""
    tasks = Task.objects.filter(lead_id=lead_id).select_related("owner", "completed_by")
    return LeadTasks(
        open=list(tasks.filter(completed_at__isnull=True).order_by("due_at", "pk")),
        done=list(tasks.filter(completed_at__isnull=False).order_by("-completed_at")[:done]),
    )


def task_list(
    *,
    user: User | AnonymousUser,
    mine: bool = False,
    open_only: bool | None = None,
    due_before: datetime | None = None,
) -> QuerySet[Task]:
    """The API's list: every rep's tasks (reps and marketers see every lead), filtered."""
    tasks = Task.objects.select_related("owner", "completed_by")
    if mine:
        tasks = tasks.filter(owner_id=user.pk)
    if open_only is not None:
        tasks = tasks.filter(completed_at__isnull=open_only)
    if due_before is not None:
        tasks = tasks.filter(due_at__lt=due_before)
    return tasks


def task_get_for_user(*, user: User | AnonymousUser, task_id: int) -> Task:
    """The one way views and the API reach a task: whoever may read tasks sees each one."""
    if not user.has_perm("sales.view_task"):
        raise PermissionDenied
    task = Task.objects.select_related("owner", "lead").filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task")
    return task
