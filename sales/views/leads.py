"""A lead's page and what a rep does to a lead (POST only, each through one service)."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from capture.models import Lead
from leadfunnel.auth import signed_in
from leadfunnel.groups import CLAIM_LEAD, SALES_REPS
from nurture.services.composing import booking_url
from nurture.topic_selectors import lead_consent_log, preferences_for
from sales.models import Note, Task
from sales.selectors import lead_get_for_user, lead_workspace
from sales.selectors.lead import WORK_PIPELINE, upcoming_bookings
from sales.selectors.tasks import lead_tasks
from sales.services import leads as lead_services
from sales.services.leads import WORKABLE_STAGES, ActionRefused
from sales.services.tasks import COMPLETE_ANY, WORK_TASKS
from sales.views.common import is_htmx, safe_next, sales_view
from scoring.selectors import score_breakdown

CHANGE = "capture.change_lead"


@sales_view()
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _lead_page(request, lead_id)


def _lead_page(
    request: HttpRequest, lead_id: int, *, error: str = "", status: int = 200
) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    workspace = lead_workspace(lead=lead)
    reps = User.objects.filter(is_active=True, groups__name=SALES_REPS).order_by("username")
    tasks = lead_tasks(lead_id=lead.pk) if request.user.has_perm("sales.view_task") else None
    if tasks is not None:
        works, any_task = request.user.has_perm(WORK_TASKS), request.user.has_perm(COMPLETE_ANY)
        for task in tasks.open:
            # The button only where the service would say yes: one's own, or anyone's if allowed.
            # Read by the template's Complete button.
            task.can_complete = works and (any_task or task.owner_id == request.user.pk)  # type: ignore[attr-defined]
    now = timezone.now()
    can_work = request.user.has_perms(WORK_PIPELINE)
    context = {
        "lead": lead,
        "workspace": workspace,
        "bookings": upcoming_bookings(lead_id=lead.pk, now=now),
        # The prospect's own signed booking page: a rep books for the lead the normal way,
        # so the slot rules, the confirmations and the invite are the ones a prospect gets.
        "booking_url": booking_url(lead=lead) if can_work else "",
        # Up to 200 entries: rendered by Jinja2, as the dashboard's rows (leadfunnel/jinja2.py).
        "timeline": mark_safe(  # noqa: S308 - rendered by Jinja2 with autoescaping
            render_to_string(
                "sales/_timeline.html", {"timeline": workspace.timeline}, using="jinja2"
            )
        ),
        "reps": [rep for rep in reps if rep.pk != lead.owner_id],
        "stages": [(stage, Lead.Stage(stage).label) for stage in WORKABLE_STAGES],
        "call_outcomes": Note.Outcome.choices,
        "task_outcomes": Task.REP_OUTCOMES,
        "can_change": request.user.has_perm(CHANGE),
        # The stage and owner forms: a rep's (a marketer's would only be refused).
        "can_work": can_work,
        "can_claim": request.user.has_perm(CLAIM_LEAD),
        "can_note": request.user.has_perm(CHANGE) and request.user.has_perm("sales.add_note"),
        "tasks": tasks,
        "subscriptions": preferences_for(lead=lead),
        "consent_log": lead_consent_log(lead_id=lead.pk),
        "now": now,
        "can_add_task": request.user.has_perm("sales.add_task"),
        "error": error,
        "form_data": request.POST if error else {},
    }
    return render(request, "sales/lead.html", context, status=status)


def _act(
    request: HttpRequest, lead_id: int, action: Callable[[], object], *, done: str
) -> HttpResponse:
    lead_get_for_user(user=request.user, lead_id=lead_id)
    try:
        action()
    except ActionRefused as refused:
        if is_htmx(request):
            return HttpResponse(refused.message, status=refused.status, content_type="text/plain")
        return _lead_page(request, lead_id, error=refused.message, status=refused.status)
    except Lead.DoesNotExist as exc:  # deleted between the check and the lock
        raise Http404("No such lead") from exc
    if is_htmx(request):
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        return render(request, "sales/_owner_cell.html", {"lead": lead})
    messages.success(request, done)
    return redirect(safe_next(request, default=reverse("sales:lead", args=[lead_id])))


@sales_view(CHANGE, CLAIM_LEAD)
@require_POST
def take(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _act(
        request,
        lead_id,
        lambda: lead_services.take_lead(lead_id=lead_id, actor=signed_in(request.user)),
        done="The lead is yours.",
    )


@sales_view(*WORK_PIPELINE)
@require_POST
def reassign(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        owner_id = int(request.POST.get("owner", ""))
    except ValueError:
        owner_id = None

    def action() -> object:
        return lead_services.reassign_lead(
            lead_id=lead_id,
            actor=signed_in(request.user),
            owner_id=owner_id,
            reason=request.POST.get("reason", ""),
        )

    return _act(request, lead_id, action, done="The lead has a new owner.")


@sales_view(*WORK_PIPELINE)
@require_POST
def move_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    stage = request.POST.get("stage", "")

    def action() -> object:
        return lead_services.move_stage(
            lead_id=lead_id,
            actor=signed_in(request.user),
            stage=stage,
            reason=request.POST.get("reason", ""),
        )

    label = dict(Lead.Stage.choices).get(stage, stage).lower()
    return _act(request, lead_id, action, done=f"Moved to {label}.")


@sales_view(CHANGE, "sales.add_note")
@require_POST
def add_note(request: HttpRequest, lead_id: int) -> HttpResponse:
    kind = request.POST.get("kind", Note.Kind.NOTE)

    def action() -> object:
        return lead_services.add_note(
            lead_id=lead_id,
            author=signed_in(request.user),
            kind=kind,
            body=request.POST.get("body", ""),
            # The form's one select serves both buttons: a note ignores it.
            outcome=request.POST.get("outcome", "") if kind == Note.Kind.CALL else "",
        )

    return _act(
        request, lead_id, action, done="Call logged." if kind == Note.Kind.CALL else "Note added."
    )


@sales_view(CHANGE)
@require_POST
def stop_sequence(request: HttpRequest, lead_id: int) -> HttpResponse:
    raw = request.POST.get("sequence", "")
    try:
        sequence_id = int(raw) if raw else None
    except ValueError:
        return _lead_page(request, lead_id, error="Choose a sequence to stop.", status=400)

    def action() -> object:
        return lead_services.stop_sequences(
            lead_id=lead_id, actor=signed_in(request.user), sequence_id=sequence_id
        )

    return _act(request, lead_id, action, done="The sequence is stopped.")


@sales_view(CHANGE)
@require_POST
def pause_sequence(request: HttpRequest, lead_id: int) -> HttpResponse:
    raw = request.POST.get("sequence", "")
    resume = request.POST.get("resume") == "1"
    try:
        sequence_id = int(raw) if raw else None
    except ValueError:
        return _lead_page(request, lead_id, error="Choose a sequence.", status=400)

    def action() -> object:
        return lead_services.pause_sequences(
            lead_id=lead_id, actor=signed_in(request.user), sequence_id=sequence_id, resume=resume
        )

    done = "The sequence is running again." if resume else "The sequence is paused."
    return _act(request, lead_id, action, done=done)


@sales_view()
def lead_score(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Why a lead scores what it does: today's reasons and its score history."""
    lead_get_for_user(user=request.user, lead_id=lead_id)
    breakdown = score_breakdown(lead_id=lead_id)
    return render(
        request, "scoring/lead_score.html", {"breakdown": breakdown, "lead": breakdown.lead}
    )
