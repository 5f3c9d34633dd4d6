"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

from tests.security.roles import (
    ANON,
    FORBIDDEN,
    MARKETER,
    NOT_ALLOWED,
    OK,
    REP,
    SUPERUSER,
    everyone,
)

# DRF answers a caller with no credentials 401 (TokenAuthentication, listed first, names its
# scheme in WWW-Authenticate); signed-in callers are let in by their model permissions.
UNAUTHORIZED = "401"


def api(outcome: str = OK) -> dict[str, str]:
    """An API resource both groups read (or, for a POST-only route, pass the checks of)."""
    return {ANON: UNAUTHORIZED, REP: outcome, MARKETER: outcome, SUPERUSER: outcome}


ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    # The schema and its docs are public: an integrator reads them before having a token.
    "api/schema/": ("/api/schema/", everyone(OK)),
    "api/docs/": ("/api/docs/", everyone(OK)),
    # Leads (sales/api): reps and marketers read and work leads.
    "api/v1/leads/": ("/api/v1/leads/", api()),
    "api/v1/leads/<int:lead_id>/": ("/api/v1/leads/{lead}/", api()),
    # Moving a lead through the pipeline is sales work (as on the board): not a marketer's.
    "api/v1/leads/<int:lead_id>/stage/": (
        "/api/v1/leads/{lead}/stage/",
        {ANON: UNAUTHORIZED, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
    "api/v1/leads/<int:lead_id>/owner/": ("/api/v1/leads/{lead}/owner/", api(NOT_ALLOWED)),
    "api/v1/leads/<int:lead_id>/notes/": ("/api/v1/leads/{lead}/notes/", api()),
    "api/v1/leads/<int:lead_id>/timeline/": ("/api/v1/leads/{lead}/timeline/", api()),
    "api/v1/metrics/": ("/api/v1/metrics/", api()),
    # Pages, campaigns, submissions (capture/ingest/resources.py): both read; Marketers write.
    "api/v1/landing-pages/": ("/api/v1/landing-pages/", api()),
    "api/v1/landing-pages/<int:pk>/": ("/api/v1/landing-pages/{page}/", api()),
    "api/v1/campaigns/": ("/api/v1/campaigns/", api()),
    "api/v1/campaigns/<int:pk>/": ("/api/v1/campaigns/{api_campaign}/", api()),
    "api/v1/submissions/": ("/api/v1/submissions/", api()),
    "api/v1/submissions/<int:pk>/": ("/api/v1/submissions/{api_submission}/", api()),
    # Sequences, steps, enrollments (nurture/api.py).
    "api/v1/sequences/": ("/api/v1/sequences/", api()),
    "api/v1/sequences/<int:pk>/": ("/api/v1/sequences/{api_sequence}/", api()),
    "api/v1/steps/": ("/api/v1/steps/", api()),
    "api/v1/steps/<int:pk>/": ("/api/v1/steps/{step}/", api()),
    "api/v1/enrollments/": ("/api/v1/enrollments/", api()),
    "api/v1/enrollments/<int:pk>/": ("/api/v1/enrollments/{api_enrollment}/", api()),
    "api/v1/enrollments/<int:pk>/exit/": (
        "/api/v1/enrollments/{api_enrollment}/exit/",
        api(NOT_ALLOWED),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Integration tokens are made and revoked by a superuser (DRF's authtoken admin).
    "authtoken.tokenproxy": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    from capture.models import Submission
    from nurture.services.scheduling import enroll_lead
    from tests.factories import CampaignFactory, LandingPageFactory, LeadFactory, SequenceFactory

    lead, sequence = LeadFactory(), SequenceFactory()
    enrollment = enroll_lead(lead=lead, sequence=sequence)
    assert enrollment is not None
    submission = Submission.objects.create(lead=lead, landing_page=LandingPageFactory())
    return {
        "api_campaign": CampaignFactory().pk,
        "api_submission": submission.pk,
        "api_sequence": sequence.pk,
        "api_enrollment": enrollment.pk,
    }
