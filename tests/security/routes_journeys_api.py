"""Rows of the authorization table (test_authorization.py) for the journeys API
(nurture/api_journeys.py): both groups read journeys, as they read sequences; the
write-only routes answer a GET with 405 once the caller is let in."""

from tests.security.roles import NOT_ALLOWED
from tests.security.routes_api import api

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "api/v1/journeys/": ("/api/v1/journeys/", api()),
    "api/v1/journeys/<int:pk>/": ("/api/v1/journeys/{api_journey}/", api()),
    "api/v1/journeys/<int:pk>/enroll/": (
        "/api/v1/journeys/{api_journey}/enroll/",
        api(NOT_ALLOWED),
    ),
    "api/v1/journeys/<int:journey_pk>/nodes/": ("/api/v1/journeys/{api_journey}/nodes/", api()),
    "api/v1/journeys/<int:journey_pk>/nodes/<int:pk>/": (
        "/api/v1/journeys/{api_journey}/nodes/{api_node}/",
        api(),
    ),
    "api/v1/journeys/<int:journey_pk>/edges/": ("/api/v1/journeys/{api_journey}/edges/", api()),
    "api/v1/journeys/<int:journey_pk>/edges/<int:pk>/": (
        "/api/v1/journeys/{api_journey}/edges/{api_edge}/",
        api(NOT_ALLOWED),
    ),
    "api/v1/journeys/<int:journey_pk>/triggers/": (
        "/api/v1/journeys/{api_journey}/triggers/",
        api(),
    ),
    "api/v1/journeys/<int:journey_pk>/triggers/<int:pk>/": (
        "/api/v1/journeys/{api_journey}/triggers/{api_trigger}/",
        api(NOT_ALLOWED),
    ),
    "api/v1/enrollments/<int:pk>/path/": (
        "/api/v1/enrollments/{api_journey_enrollment}/path/",
        api(),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}


def objects() -> dict[str, object]:
    from nurture.models import Edge, Enrollment
    from tests.factories import LeadFactory
    from tests.journeys.builders import playbook

    journey = playbook(name="API journey")
    enrollment = Enrollment.objects.create(
        lead=LeadFactory(),
        sequence=journey,
        started_at=journey.created_at,
        current_node=journey.start_node,
    )
    return {
        "api_journey": journey.pk,
        "api_node": journey.start_node_id,
        "api_edge": Edge.objects.filter(source__sequence=journey).first().pk,
        "api_trigger": journey.triggers.first().pk,
        "api_journey_enrollment": enrollment.pk,
    }
