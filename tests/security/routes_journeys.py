"""Rows of the authorization table (test_authorization.py) for journeys in the admin: the
map, its dry run and report are marketers' pages; reps are not staff."""

from tests.security.roles import NOT_ALLOWED, OK, admin_page

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "admin/nurture/journey/<int:journey_id>/map/": (
        "/admin/nurture/journey/{journey}/map/",
        admin_page(),
    ),
    # The map's panels (GET: a node's form, a removal's or an insertion's confirm step) and
    # its POST-only changes.
    "admin/nurture/journey/<int:journey_id>/map/node/<int:node_id>/": (
        "/admin/nurture/journey/{journey}/map/node/{journey_task}/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/map/node/<int:node_id>/remove/": (
        "/admin/nurture/journey/{journey}/map/node/{journey_task}/remove/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/map/node/<int:node_id>/add/<str:port>/": (
        "/admin/nurture/journey/{journey}/map/node/{journey_task}/add/next/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/map/edge/<int:edge_id>/insert/": (
        "/admin/nurture/journey/{journey}/map/edge/{journey_edge}/insert/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/map/triggers/": (
        "/admin/nurture/journey/{journey}/map/triggers/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/nurture/journey/<int:journey_id>/map/publish/": (
        "/admin/nurture/journey/{journey}/map/publish/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/nurture/journey/<int:journey_id>/map/sms-segments/": (
        "/admin/nurture/journey/{journey}/map/sms-segments/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/nurture/journey/<int:journey_id>/dry-run/": (
        "/admin/nurture/journey/{journey}/dry-run/",
        admin_page(),
    ),
    "admin/nurture/journey/<int:journey_id>/report/": (
        "/admin/nurture/journey/{journey}/report/",
        admin_page(),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "nurture.journey": ((OK, OK), (OK, OK)),
}


def objects() -> dict[str, object]:
    from nurture.models import Edge, Node
    from tests.journeys.builders import playbook

    journey = playbook()
    task = Node.objects.get(sequence=journey, kind=Node.Kind.TASK)
    edge = Edge.objects.filter(source__sequence=journey).first()
    return {"journey": journey.pk, "journey_task": task.pk, "journey_edge": edge.pk}
