"""Who may call each endpoint: one row per (method, route), one outcome per role.

Allowed callers send an invalid body, so a write that gets past the permission check
answers 400 and changes nothing; a refused one answers 403 (signed in) or 401 (no
credentials). Every role calls with its own token, as an integration does.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from capture.models import Submission
from nurture.services.scheduling import enroll_lead
from sales.models import Task
from tests.api.conftest import _user, error, marketer, sales_rep, superuser, token_client
from tests.factories import (
    CampaignFactory,
    LandingPageFactory,
    LeadFactory,
    SequenceFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db

ANON, NOBODY, REP, MARKETER, SUPERUSER = (
    "anonymous",
    "no group",
    "sales rep",
    "marketer",
    "superuser",
)
ROLES: dict[str, Callable[[], User | None]] = {
    ANON: lambda: None,
    NOBODY: _user,  # signed in, no permissions at all
    REP: sales_rep,
    MARKETER: marketer,
    SUPERUSER: superuser,
}


def outcomes(anon: int, rep: int, marketer: int, superuser: int | None = None) -> dict[str, int]:
    return {
        ANON: anon,
        NOBODY: 403,
        REP: rep,
        MARKETER: marketer,
        SUPERUSER: marketer if superuser is None else superuser,
    }


READ = outcomes(401, 200, 200)
WORK = outcomes(401, 400, 400)  # both groups may; the body is invalid
MARKETERS_WRITE = outcomes(401, 403, 400)
MARKETERS_DELETE = outcomes(401, 403, 204)

# (method, URL with {object} keys, body, outcomes)
MATRIX: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("get", "/api/v1/leads/", None, READ),
    ("post", "/api/v1/leads/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/leads/{lead}/", None, READ),
    ("patch", "/api/v1/leads/{lead}/", {"company_size": "huge"}, WORK),
    # Moving a lead through the pipeline is sales work: a marketer sees it, moves nothing.
    ("post", "/api/v1/leads/{lead}/stage/", {}, outcomes(401, 400, 403, 400)),
    ("post", "/api/v1/leads/{lead}/owner/", {}, WORK),
    ("get", "/api/v1/leads/{lead}/notes/", None, READ),
    ("post", "/api/v1/leads/{lead}/notes/", {}, WORK),
    ("get", "/api/v1/leads/{lead}/timeline/", None, READ),
    ("get", "/api/v1/metrics/", None, READ),
    ("get", "/api/v1/landing-pages/", None, READ),
    ("post", "/api/v1/landing-pages/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/landing-pages/{page}/", None, READ),
    ("patch", "/api/v1/landing-pages/{page}/", {"slug": "no spaces"}, MARKETERS_WRITE),
    ("put", "/api/v1/landing-pages/{page}/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/campaigns/", None, READ),
    ("post", "/api/v1/campaigns/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/campaigns/{campaign}/", None, READ),
    ("delete", "/api/v1/campaigns/{campaign}/", None, MARKETERS_DELETE),
    ("get", "/api/v1/submissions/", None, READ),
    ("get", "/api/v1/submissions/{submission}/", None, READ),
    ("get", "/api/v1/sequences/", None, READ),
    ("post", "/api/v1/sequences/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/sequences/{sequence}/", None, READ),
    ("patch", "/api/v1/sequences/{sequence}/", {"weekdays": []}, MARKETERS_WRITE),
    ("delete", "/api/v1/sequences/{sequence}/", None, MARKETERS_DELETE),
    ("get", "/api/v1/steps/", None, READ),
    ("post", "/api/v1/steps/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/steps/{step}/", None, READ),
    ("patch", "/api/v1/steps/{step}/", {"day": 0}, MARKETERS_WRITE),
    ("get", "/api/v1/enrollments/", None, READ),
    ("post", "/api/v1/enrollments/", {}, MARKETERS_WRITE),
    ("get", "/api/v1/enrollments/{enrollment}/", None, READ),
    ("post", "/api/v1/enrollments/{enrollment}/exit/", None, outcomes(401, 200, 200)),
    # Tasks: both groups read; only reps create and complete (marketers: least privilege).
    ("get", "/api/v1/tasks/", None, READ),
    ("post", "/api/v1/tasks/", {}, outcomes(401, 400, 403, 400)),
    # The task is another rep's: a rep completes only their own; a superuser anyone's.
    ("post", "/api/v1/tasks/{task}/complete/", None, outcomes(401, 403, 403, 200)),
]


def _objects() -> dict[str, int]:
    lead, sequence = LeadFactory(), SequenceFactory()
    enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    page = LandingPageFactory()
    return {
        "lead": lead.pk,
        "page": page.pk,
        "campaign": CampaignFactory().pk,
        "submission": Submission.objects.create(lead=lead, landing_page=page).pk,
        "sequence": SequenceFactory().pk,
        "step": StepFactory().pk,
        "enrollment": enrollment.pk,
        "task": Task.objects.create(
            lead=lead, owner=sales_rep(), title="Call back", due_at=timezone.now()
        ).pk,
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_each_role_as_the_matrix_says(role: str) -> None:
    objects = _objects()
    client = token_client(ROLES[role]())
    wrong = []
    for method, url, body, expected in MATRIX:
        response = getattr(client, method)(url.format(**objects), body, format="json")
        if response.status_code != expected[role]:
            wrong.append(
                f"{method.upper()} {url}: expected {expected[role]}, got "
                f"{response.status_code} {response.content[:200]!r}"
            )
        elif response.status_code >= 400:
            error(response)  # every refusal is the JSON error body
    assert not wrong, "\n".join(wrong)


def test_anonymous_callers_are_told_how_to_authenticate() -> None:
    response = APIClient().get("/api/v1/leads/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error(response)["code"] == "not_authenticated"


def test_a_bad_token_is_a_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/leads/")
    assert response.status_code == 401
    assert error(response)["code"] == "authentication_failed"


def test_a_revoked_token_stops_working() -> None:
    user = sales_rep()
    client = token_client(user)
    assert client.get("/api/v1/leads/").status_code == 200
    user.auth_token.delete()
    assert client.get("/api/v1/leads/").status_code == 401


def test_an_inactive_users_token_is_refused() -> None:
    user = sales_rep()
    client = token_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/leads/").status_code == 401


def test_a_session_reads_but_writes_need_the_csrf_token() -> None:
    """The browsable API: a signed-in session works like a token for reads; its writes need
    Django's CSRF token, which a token-authenticated integration never sends."""
    user = sales_rep()
    lead = LeadFactory()
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(user)
    assert session.get("/api/v1/leads/").status_code == 200
    refused = session.post(f"/api/v1/leads/{lead.pk}/stage/", {"stage": "won"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in error(refused)["message"]
    by_token = token_client(user).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "won"}, format="json"
    )
    assert by_token.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/leads/",
        "/api/v1/leads/{lead}/",
        "/api/v1/leads/{lead}/notes/",
        "/api/v1/leads/{lead}/timeline/",
        "/api/v1/metrics/",
        "/api/v1/landing-pages/",
        "/api/v1/campaigns/{campaign}/",
        "/api/v1/submissions/",
        "/api/v1/sequences/",
        "/api/v1/steps/{step}/",
        "/api/v1/enrollments/",
    ],
)
def test_the_browsable_api_renders_for_a_signed_in_person(url: str) -> None:
    objects = _objects()
    client = APIClient()
    client.force_login(superuser())
    response = client.get(url.format(**objects), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/leads/{id}/"),
        ("post", "/api/v1/leads/{id}/stage/"),
        ("get", "/api/v1/leads/{id}/timeline/"),
        ("get", "/api/v1/campaigns/{id}/"),
        ("delete", "/api/v1/steps/{id}/"),
        ("post", "/api/v1/enrollments/{id}/exit/"),
    ],
)
def test_ids_beyond_the_columns_range_are_a_404_not_a_crash(method: str, url: str) -> None:
    client = token_client(superuser())
    response = getattr(client, method)(url.format(id=10**30), {"stage": "won"}, format="json")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
