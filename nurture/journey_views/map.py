"""The journey map and its editing (admin pages; htmx partials beside the map).

Every page works without JavaScript: the node list is server-rendered links and forms,
and a form posts and redirects back as usual. With htmx, a node's form opens in the panel
beside the map, and a saved change re-renders the whole editor (map, list and panel).
Bad input answers 400 with the form and its messages (htmx is told to swap it in).
"""

from collections import deque
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from nurture import journey_forms
from nurture.journey_selectors import NodeFigures, node_figures
from nurture.models import Edge, Enrollment, Journey, Node, Trigger
from nurture.services import conditions, editing, goals, splits, timing

PAGE = "admin/nurture/journey/map.html"
EDITOR = "admin/nurture/journey/_editor.html"
PANEL = "admin/nurture/journey/_panel.html"
CHANGE = ("nurture.change_journey", "nurture.change_node")


# -- access ---------------------------------------------------------------------------------


def journey_for_user(*, user: Any, journey_id: int, change: bool = False) -> Journey:
    """The journey, if this user may see it (or, with `change`, edit it): 403 otherwise."""
    needed = CHANGE if change else ("nurture.view_journey",)
    if not user.has_perms(needed):
        raise PermissionDenied
    return get_object_or_404(Journey.objects.select_related("start_node"), pk=journey_id)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# -- reading the graph for the page ---------------------------------------------------------


def _percent(part: int, base: int) -> str:
    return f"{part / base:.0%}" if base else "—"


def figure_lines(node: Node, figures: NodeFigures) -> list[str]:
    lines = [f"entered {figures.entered} · waiting now {figures.waiting}"]
    if node.kind == Node.Kind.EMAIL:
        opened, clicked = (_percent(n, figures.sent) for n in (figures.opened, figures.clicked))
        lines.append(
            f"sent {figures.sent} · opened {figures.opened} ({opened})"
            f" · clicked {figures.clicked} ({clicked})"
        )
    lines.append(f"converted {figures.converted} ({_percent(figures.converted, figures.entered)})")
    return lines


def _amount(amount: object, unit: str) -> str:
    """ "1 hour", "2 hours", "1 business day": the units in the singular when there is one."""
    label = timing.UNITS.get(unit, unit)
    return f"{amount} {label[:-1] if str(amount) == '1' and label.endswith('s') else label}"


def summary(node: Node, names: dict[int, str]) -> str:
    config = node.config or {}
    if node.kind == Node.Kind.EMAIL:
        subject = node.step.subject if node.step else ""
        return f"“{subject}”" if subject else "(no subject yet)"
    if node.kind == Node.Kind.WAIT:
        unit = config.get("unit", timing.DAYS)
        if unit == timing.JOURNEY_DAY:
            return f"until day {config.get('amount', 1)} of the journey"
        return f"wait {_amount(config.get('amount', 1), unit)}"
    if node.kind == Node.Kind.WAIT_UNTIL:
        event = conditions.describe(config.get("event") or {"field": "clicked"}, node_names=names)
        timeout = config.get("timeout") or {"amount": 3, "unit": timing.DAYS}
        amount = _amount(timeout.get("amount", 3), timeout.get("unit", timing.DAYS))
        return f"until {event}, at most {amount}"
    if node.kind == Node.Kind.BRANCH:
        count = len(config.get("conditions") or [])
        return f"{count} condition{'s' if count != 1 else ''} + otherwise"
    if node.kind == Node.Kind.SPLIT:
        return " · ".join(
            f"{v.get('label') or chr(65 + i)} {v.get('weight')}%"
            for i, v in enumerate(splits.variants(node))
        )
    if node.kind == Node.Kind.SMS:
        body = str(config.get("body") or "")
        return f"“{body[:40]}{'…' if len(body) > 40 else ''}”" if body else "(no text yet)"
    if node.kind == Node.Kind.TASK:
        return str(config.get("title") or "")
    if node.kind == Node.Kind.NOTIFY:
        return f"notify {config.get('to', 'owner')}"
    if node.kind == Node.Kind.UPDATE:
        action: str = config.get("action", "stage")
        return {
            "stage": f"set stage {config.get('stage', '')}",
            "field": f"set {config.get('field', '')}",
            "note": "add a note",
        }.get(action, action)
    if node.kind == Node.Kind.GOAL:
        return f"goal: {goals.describe(node)}"
    return ""


def _ordered(journey: Journey, nodes: dict[int, Node], edges: dict[int, list[Edge]]) -> list[int]:
    """Nodes from the start, breadth first along their ports' order; unreachable ones last."""
    order: list[int] = []
    seen: set[int] = set()
    queue = deque([journey.start_node_id] if journey.start_node_id in nodes else [])
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        order.append(current)
        by_port = {edge.port: edge.target_id for edge in edges.get(current, [])}
        for port in [*editing.ports(nodes[current]), *sorted(by_port)]:
            if port in by_port and by_port[port] not in seen:
                queue.append(by_port[port])
    return order + [pk for pk in nodes if pk not in seen]


def map_data(journey: Journey) -> dict[str, Any]:
    """What the page shows: nodes with figures and their arrows, as data for the template
    (the list) and for journey-map.js (the drawing)."""
    nodes = {node.pk: node for node in Node.objects.filter(sequence=journey).select_related("step")}
    names = {pk: str(node) for pk, node in nodes.items()}
    edges: dict[int, list[Edge]] = {}
    for edge in Edge.objects.filter(source__sequence=journey):
        edges.setdefault(edge.source_id, []).append(edge)
    figures = node_figures(journey=journey)
    base = reverse("admin:nurture_journey_map", args=[journey.pk])
    rows = []
    for pk in _ordered(journey, nodes, edges):
        node = nodes[pk]
        by_port = {edge.port: edge for edge in edges.get(pk, [])}
        arrows = []
        for port in [*editing.ports(node), *[p for p in by_port if p not in editing.ports(node)]]:
            out = by_port.get(port)
            arrows.append(
                {
                    "port": port,
                    "label": editing.port_label(node, port, node_names=names),
                    "target": out.target_id if out else None,
                    "targetName": names.get(out.target_id, "") if out else "",
                    "edge": out.pk if out else None,
                    "insertUrl": f"{base}edge/{out.pk}/insert/" if out else "",
                    "addUrl": "" if out else f"{base}node/{pk}/add/{port}/",
                }
            )
        row: dict[str, Any] = {
            "id": pk,
            "kind": node.kind,
            "kindLabel": node.get_kind_display(),
            "name": str(node),
            "summary": summary(node, names),
            "figures": figure_lines(node, figures.get(pk, NodeFigures())),
            "start": pk == journey.start_node_id,
            "url": f"{base}node/{pk}/",
            "arrows": arrows,
        }
        if node.kind == Node.Kind.SPLIT:
            row["split"] = split_data(node)
        rows.append(row)
    return {"nodes": rows, "start": journey.start_node_id}


def split_data(node: Node) -> dict[str, Any]:
    result = splits.stats(node)
    return {
        "winner": result.winner,
        "waitingFor": result.waiting_for,
        "pValue": None if result.p_value is None else round(result.p_value, 4),
        "variants": [
            {
                "port": v.port,
                "label": v.label,
                "weight": v.weight,
                "sent": v.sent,
                "clicked": v.clicked,
                "rate": _percent(v.clicked, v.sent),
                "winner": v.port == result.winner,
            }
            for v in result.variants
        ],
    }


# -- rendering ------------------------------------------------------------------------------


def _context(request: HttpRequest, journey: Journey, panel: dict[str, Any]) -> dict[str, Any]:
    base = reverse("admin:nurture_journey_map", args=[journey.pk])
    triggers = list(Trigger.objects.filter(sequence=journey))
    counts = Enrollment.objects.filter(sequence=journey).aggregate(
        entered=Count("pk"),
        active=Count("pk", filter=Q(state=Enrollment.State.ACTIVE)),
        converted=Count("pk", filter=Q(converted_at__isnull=False)),
    )
    return {
        **admin.site.each_context(request),
        # The map needs the width: no app list beside it (the breadcrumbs lead back).
        "is_nav_sidebar_enabled": False,
        "journey": journey,
        "opts": Journey._meta,
        "title": f"Journey map: {journey}",
        "map": map_data(journey),
        "counts": counts,
        "problems": editing.publish_problems(journey=journey),
        "can_change": request.user.has_perms(CHANGE),
        "base_url": base,
        "dry_run_url": reverse("admin:nurture_journey_dryrun", args=[journey.pk]),
        "report_url": reverse("admin:nurture_journey_report", args=[journey.pk]),
        "change_url": reverse("admin:nurture_journey_change", args=[journey.pk]),
        "triggers": [(t, journey_forms.TriggerForm.for_trigger(t)) for t in triggers],
        "new_trigger": panel.pop("new_trigger", None)
        or journey_forms.TriggerForm(prefix="new-trigger"),
        "panel": panel,
    }


def _page(
    request: HttpRequest, journey: Journey, panel: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    template = EDITOR if _is_htmx(request) else PAGE
    return TemplateResponse(request, template, _context(request, journey, panel), status=status)


def _panel(
    request: HttpRequest, journey: Journey, panel: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """The panel alone (htmx), or the whole page with it open (no JavaScript)."""
    if not _is_htmx(request):
        return TemplateResponse(request, PAGE, _context(request, journey, panel), status=status)
    context = {
        **admin.site.each_context(request),
        "journey": journey,
        "panel": panel,
        "base_url": reverse("admin:nurture_journey_map", args=[journey.pk]),
        "can_change": request.user.has_perms(CHANGE),
    }
    response = TemplateResponse(request, PANEL, context, status=status)
    if status >= 400:
        # The form came from a post aimed at the whole editor: put it back in the panel.
        response["HX-Retarget"] = "#node-panel"
        response["HX-Reswap"] = "innerHTML"
    return response


def _saved(request: HttpRequest, journey: Journey, panel: dict[str, Any], url: str) -> HttpResponse:
    if _is_htmx(request):
        return _page(request, journey, panel)
    return HttpResponseRedirect(url)


def _node_panel(
    node: Node, form: journey_forms.NodeForm | None = None, **extra: Any
) -> dict[str, Any]:
    form = form or journey_forms.node_form(node)
    panel: dict[str, Any] = {"mode": "node", "node": node, "form": form, **extra}
    if node.kind == Node.Kind.SPLIT:
        panel["split"] = split_data(node)
    return panel


# -- views ----------------------------------------------------------------------------------


@require_http_methods(["GET"])
def map_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = journey_for_user(user=request.user, journey_id=journey_id)
    panel: dict[str, Any] = {"mode": "help"}
    # Without JavaScript the list's links open a node's form (or a change) by query string.
    node_id, edge_id = request.GET.get("node", ""), request.GET.get("insert", "")
    if node_id.isdigit():
        node = get_object_or_404(Node, pk=int(node_id), sequence=journey)
        panel = _node_panel(node)
    elif edge_id.isdigit():
        edge = get_object_or_404(Edge, pk=int(edge_id), source__sequence=journey)
        panel = _insert_panel(edge=edge)
    return TemplateResponse(request, PAGE, _context(request, journey, panel))


@require_http_methods(["GET", "POST"])
def node_view(request: HttpRequest, journey_id: int, node_id: int) -> HttpResponse:
    journey = journey_for_user(
        user=request.user, journey_id=journey_id, change=request.method == "POST"
    )
    node = get_object_or_404(Node.objects.select_related("step"), pk=node_id, sequence=journey)
    if request.method == "GET":
        return _panel(request, journey, _node_panel(node))
    form = journey_forms.node_form(node, request.POST)
    if not form.is_valid():
        return _panel(request, journey, _node_panel(node, form), status=400)
    node = editing.update_node(
        node=node,
        name=form.cleaned_data["name"],
        config=form.to_config(),
        email=form.email(),
        port_origins=form.port_origins(),
    )
    note = f"Saved “{node}”."
    if not _is_htmx(request):
        messages.success(request, note)
    return _saved(
        request,
        journey,
        _node_panel(node, saved=note),
        f"{reverse('admin:nurture_journey_map', args=[journey.pk])}?node={node.pk}",
    )


def _insert_panel(
    *,
    edge: Edge | None = None,
    node: Node | None = None,
    port: str = "",
    form: journey_forms.NewNodeForm | None = None,
) -> dict[str, Any]:
    preview = editing.preview_insert(edge=edge, node=node)
    if edge is not None:
        where = f"between “{edge.source}” and “{edge.target}”"
        label = editing.port_label(edge.source, edge.port)
        where += f" (on “{label}”)" if label else ""
    else:
        if node is None:
            raise ValueError("an insert panel is for an arrow or a node's port")
        label = editing.port_label(node, port)
        where = f"after “{node}”" + (f" (on “{label}”)" if label else "")
    return {
        "mode": "insert",
        "edge": edge,
        "node": node,
        "port": port,
        "where": where,
        "preview": preview,
        "form": form or journey_forms.NewNodeForm(),
    }


@require_http_methods(["GET", "POST"])
def insert_view(request: HttpRequest, journey_id: int, edge_id: int) -> HttpResponse:
    journey = journey_for_user(user=request.user, journey_id=journey_id, change=True)
    edge = get_object_or_404(
        Edge.objects.select_related("source", "target"), pk=edge_id, source__sequence=journey
    )
    if request.method == "GET":
        return _panel(request, journey, _insert_panel(edge=edge))
    form = journey_forms.NewNodeForm(request.POST)
    if form.is_valid():
        try:
            node = editing.insert_between(
                edge=edge, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error("kind", error)
        else:
            return _added(request, journey, node)
    return _panel(request, journey, _insert_panel(edge=edge, form=form), status=400)


@require_http_methods(["GET", "POST"])
def add_after_view(request: HttpRequest, journey_id: int, node_id: int, port: str) -> HttpResponse:
    journey = journey_for_user(user=request.user, journey_id=journey_id, change=True)
    node = get_object_or_404(Node, pk=node_id, sequence=journey)
    if port not in editing.ports(node):
        return HttpResponse(f"“{node}” has no “{port}” arrow.", status=400)
    if request.method == "GET":
        return _panel(request, journey, _insert_panel(node=node, port=port))
    form = journey_forms.NewNodeForm(request.POST)
    if form.is_valid():
        try:
            new = editing.add_after(
                node=node, port=port, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error("kind", error)
        else:
            return _added(request, journey, new)
    return _panel(request, journey, _insert_panel(node=node, port=port, form=form), status=400)


def _added(request: HttpRequest, journey: Journey, node: Node) -> HttpResponse:
    note = f"Added “{node}”: fill in its form."
    if not _is_htmx(request):
        messages.success(request, note)
    node = Node.objects.select_related("step").get(pk=node.pk)
    return _saved(
        request,
        journey,
        _node_panel(node, saved=note),
        f"{reverse('admin:nurture_journey_map', args=[journey.pk])}?node={node.pk}",
    )


@require_http_methods(["GET", "POST"])
def remove_view(request: HttpRequest, journey_id: int, node_id: int) -> HttpResponse:
    journey = journey_for_user(user=request.user, journey_id=journey_id, change=True)
    node = get_object_or_404(Node, pk=node_id, sequence=journey)
    panel = {"mode": "remove", "node": node, "preview": editing.preview_remove(node=node)}
    if request.method == "GET":
        return _panel(request, journey, panel)
    name = str(node)
    try:
        moved = editing.remove_node(node=node)
    except ValidationError:
        # The preview says why (a wait or branch still names it); nothing was removed.
        return _panel(request, journey, panel, status=400)
    note = f"Removed “{name}”; {moved} lead{'s' if moved != 1 else ''} moved on."
    journey.refresh_from_db()
    if not _is_htmx(request):
        messages.success(request, note)
    return _saved(
        request,
        journey,
        {"mode": "help", "saved": note},
        reverse("admin:nurture_journey_map", args=[journey.pk]),
    )


@require_POST
def segments_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The live segment count under an SMS node's text (htmx, as the marketer types)."""
    journey_for_user(user=request.user, journey_id=journey_id)
    # The whole text, even past the limit: the count must show how far over it is.
    return HttpResponse(journey_forms.segments_text(request.POST.get("body", "")))


@require_POST
def triggers_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Add, change or remove one of the journey's triggers (which one: `trigger`)."""
    journey = journey_for_user(user=request.user, journey_id=journey_id, change=True)
    url = reverse("admin:nurture_journey_map", args=[journey.pk]) + "#triggers"
    trigger_id = request.POST.get("trigger", "")
    trigger = None
    if trigger_id.isdigit():
        trigger = get_object_or_404(Trigger, pk=int(trigger_id), sequence=journey)
    if trigger is not None and request.POST.get("remove"):
        editing.remove_trigger(trigger=trigger)
        return _trigger_saved(request, journey, f"Removed the trigger “{trigger}”.", url)
    prefix = f"trigger-{trigger.pk}" if trigger else "new-trigger"
    form = journey_forms.TriggerForm(request.POST, prefix=prefix)
    if not form.is_valid():
        panel: dict[str, Any] = {"mode": "help", "trigger_errors": form}
        if trigger is None:
            panel["new_trigger"] = form
        return _page(request, journey, panel, status=400)
    kind = form.cleaned_data["kind"]
    if trigger is None:
        trigger = editing.add_trigger(journey=journey, kind=kind, config=form.to_config())
        note = f"Added the trigger “{trigger}”."
    else:
        trigger = editing.update_trigger(trigger=trigger, kind=kind, config=form.to_config())
        note = f"Saved the trigger “{trigger.get_kind_display()}”."
    return _trigger_saved(request, journey, note, url)


def _trigger_saved(request: HttpRequest, journey: Journey, note: str, url: str) -> HttpResponse:
    if not _is_htmx(request):
        messages.success(request, note)
    return _saved(request, journey, {"mode": "help", "saved": note}, url)


@require_POST
def publish_view(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = journey_for_user(user=request.user, journey_id=journey_id, change=True)
    url = reverse("admin:nurture_journey_map", args=[journey.pk])
    if request.POST.get("action") == "pause":
        editing.pause(journey=journey)
        messages.success(request, f"“{journey}” is paused: no lead moves until you publish it.")
        return HttpResponseRedirect(url)
    try:
        editing.publish(journey=journey)
    except ValidationError as error:
        journey.refresh_from_db()
        panel = {"mode": "help", "publish_errors": error.messages}
        response = TemplateResponse(request, PAGE, _context(request, journey, panel), status=400)
        return response
    messages.success(request, f"“{journey}” is published: leads enter it from now on.")
    return HttpResponseRedirect(url)
