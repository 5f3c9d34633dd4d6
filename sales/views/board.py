"""The pipeline board, and moving a card: the same stage move as on a lead's page.

The board never writes a stage itself: a move goes through `sales.services.leads.move_stage`,
so its rules (which stages, lost needs a reason), its lock and its audit row are the ones the
lead page has. The board's script posts the card's own form with fetch and asks for JSON;
without script the form posts and the page comes back.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from capture.models import Lead
from leadfunnel.auth import signed_in
from sales.selectors import lead_get_for_user
from sales.selectors.board import OWNER_CHOICES, pipeline_board
from sales.selectors.lead import WORK_PIPELINE
from sales.services import leads as lead_services
from sales.services.leads import WORKABLE_STAGES, ActionRefused
from sales.views.common import sales_view

# Marketers still see the board, as they see the dashboard, but move nothing.
MOVE_CARDS = WORK_PIPELINE


@sales_view()
def board(request: HttpRequest) -> HttpResponse:
    return _board_page(request)


def _board_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    owner = request.GET.get("owner", "")
    if owner not in dict(OWNER_CHOICES):
        owner, status = "", 400
        error = "Choose whose leads to show: mine, unassigned or everyone's."
    columns = pipeline_board(user=request.user, owner=owner)
    dashboard = reverse("sales:dashboard")
    for column in columns:
        column.more_url = f"{dashboard}?{urlencode({'stage': column.stage, 'owner': owner})}"
    context = {
        "columns": columns,
        "owner": owner,
        "owner_choices": OWNER_CHOICES,
        "stages": [(stage, Lead.Stage(stage).label) for stage in WORKABLE_STAGES],
        "can_move": request.user.has_perms(MOVE_CARDS),
        "error": error,
    }
    return render(request, "sales/board.html", context, status=status)


@sales_view(*MOVE_CARDS)
@require_POST
def board_move(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    wants_json = "application/json" in request.headers.get("Accept", "")
    stage = request.POST.get("stage", "")
    try:
        lead_services.move_stage(
            lead_id=lead.pk,
            actor=signed_in(request.user),
            stage=stage,
            reason=request.POST.get("reason", ""),
        )
    except ActionRefused as refused:
        if wants_json:
            return JsonResponse({"error": refused.message}, status=refused.status)
        return _board_page(request, error=refused.message, status=refused.status)
    except Lead.DoesNotExist as exc:  # deleted between the check and the lock
        raise Http404("No such lead") from exc
    label = Lead.Stage(stage).label
    done = f"{lead} moved to {label}."
    if wants_json:
        return JsonResponse({"message": done, "stage": stage, "label": label})
    messages.success(request, done)
    owner = request.POST.get("owner", "")
    query = f"?{urlencode({'owner': owner})}" if owner in dict(OWNER_CHOICES) and owner else ""
    return redirect(reverse("sales:board") + query)
