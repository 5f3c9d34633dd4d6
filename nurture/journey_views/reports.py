"""A journey's dry run and report (admin pages; the admin wraps them in `admin_view`)."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from nurture import journey_selectors
from nurture.models import Journey, Node
from nurture.services import dry_run

ONE_LEAD, SAMPLE = "lead", "sample"


def journey_get_for_user(*, user: AbstractUser | AnonymousUser, journey_id: int) -> Journey:
    """The journey, if this user may read journeys (404 for none, 403 for no permission)."""
    if not (user.has_perm("nurture.view_journey") or user.has_perm("nurture.view_sequence")):
        raise PermissionDenied
    return get_object_or_404(Journey.objects.select_related("start_node"), pk=journey_id)


def _context(request: HttpRequest, journey: Journey, title: str) -> dict[str, object]:
    return {
        **admin.site.each_context(request),
        "journey": journey,
        "opts": Journey._meta,
        "title": title,
        "map_url": reverse("admin:nurture_journey_map", args=[journey.pk]),
        "dry_run_url": reverse("admin:nurture_journey_dryrun", args=[journey.pk]),
        "report_url": reverse("admin:nurture_journey_report", args=[journey.pk]),
        "change_url": reverse("admin:nurture_journey_change", args=[journey.pk]),
    }


def dry_run_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    """GET only: a dry run writes nothing, so it needs no form post (and no CSRF token)."""
    journey = journey_get_for_user(user=request.user, journey_id=journey_id)
    context = _context(request, journey, f"Dry run: {journey}")
    mode = request.GET.get("mode", "")
    email = request.GET.get("email", "").strip()[:254]
    size_text = request.GET.get("size", str(dry_run.MAX_SAMPLE)).strip()
    context.update(
        mode=mode or ONE_LEAD, email=email, size=size_text, max_sample=dry_run.MAX_SAMPLE
    )
    if not mode:
        return TemplateResponse(request, "admin/nurture/journey/dry_run.html", context)
    error, leads = "", []
    if journey.start_node_id is None:
        error = "This journey has no first node yet: add one on the map, then dry-run it."
    elif mode == ONE_LEAD:
        lead = dry_run.find_lead(email=email) if email else None
        if not email:
            error = "Enter the email address of the lead to dry-run."
        elif lead is None:
            error = (
                f"No lead that may be mailed has the address “{email}” (it is unknown, "
                "suppressed or erased)."
            )
            context["candidates"] = dry_run.matching_leads(search=email)
        else:
            leads = [lead]
    elif mode == SAMPLE:
        if not (size_text.isascii() and size_text.isdigit()) or not (
            1 <= int(size_text) <= dry_run.MAX_SAMPLE
        ):
            error = f"The sample size is a whole number from 1 to {dry_run.MAX_SAMPLE}."
        else:
            leads = list(dry_run.mailable_sample(limit=int(size_text)))
            if not leads:
                error = "There are no leads that may be mailed to dry-run with."
    else:
        error = "Choose one lead or a sample."
    if error:
        context["error"] = error
        return TemplateResponse(request, "admin/nurture/journey/dry_run.html", context, status=400)
    result = dry_run.dry_run(journey=journey, leads=leads)
    nodes = {node.pk: node for node in Node.objects.filter(sequence=journey)}
    order = journey_selectors.graph_order(journey=journey, node_ids=list(nodes))
    context["result"] = result
    context["reached"] = [(nodes[pk], result.reached.get(pk, 0)) for pk in order]
    return TemplateResponse(request, "admin/nurture/journey/dry_run.html", context)


def report_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = journey_get_for_user(user=request.user, journey_id=journey_id)
    report = journey_selectors.journey_report(journey)
    context = _context(request, journey, f"Report: {journey}")
    context["report"] = report
    context["median"] = duration_text(report.median_to_convert)
    context["chart_height"] = 80 + 48 * max(len(report.funnel), 1)
    context["chart"] = {
        "labels": [row.name for row in report.funnel],
        "series": [
            {"label": "Entered", "data": [row.figures.entered for row in report.funnel]},
            {"label": "Sent", "data": [row.figures.sent for row in report.funnel]},
            {"label": "Opened", "data": [row.figures.opened for row in report.funnel]},
            {"label": "Clicked", "data": [row.figures.clicked for row in report.funnel]},
            {"label": "Converted after", "data": [row.figures.converted for row in report.funnel]},
        ],
    }
    return TemplateResponse(request, "admin/nurture/journey/report.html", context)


def duration_text(span: timedelta | None) -> str:
    """ "2 days 3 h", "3 h 20 min", "45 min": a median is read at a glance, not to the second."""
    if span is None:
        return ""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        text = f"{days} day" if days == 1 else f"{days} days"
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
