"""Who may open every route: a table of expected outcomes per route and role.

Every URL pattern the project serves has a row, so a new route without one fails
`test_every_route_has_a_row`. Admin models are covered by their changelist and add pages (the
object pages share the model's permissions); custom admin views have rows of their own.
Each route is requested with GET: a POST-only view answers 405 only once the caller passed
its login and permission checks, so 405 still tells who got in.
"""

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from capture.models import LandingPage
from nurture import tokens
from nurture.models import Delivery
from nurture.services.scheduling import enroll_lead
from sales.models import Booking, RepProfile
from sales.services.booking import feed_token
from tests.factories import (
    FitRuleFactory,
    LandingPageFactory,
    LeadFactory,
    UserFactory,
    marketer,
    playbook_sequence,
    sales_rep,
)
from tests.security.roles import (
    ADMIN_LOGIN,
    ANON,
    FORBIDDEN,
    FOUND,
    LOGIN,
    MARKETER,
    MOVED,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    REP,
    ROLES,
    SUPERUSER,
    admin_page,
    everyone,
    sales_page,
)

pytestmark = pytest.mark.django_db

# One module per area, each with its own rows (so parallel work does not edit one table).
ROUTE_MODULES = (
    "routes_journeys",
    "routes_journeys_api",
    "routes_api",
    "routes_capture_api",
    "routes_webhooks",
    "routes_integrations",
    "routes_tasks",
    "routes_sms",
    "routes_board",
    "routes_landing",
    "routes_preferences",
    "routes_segments",
)


# pattern → (the URL requested, built from the objects made in `objects`; expected outcomes)
ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "": ("/", everyone(FOUND)),
    "favicon.ico": ("/favicon.ico", everyone(MOVED)),
    # Admin site views.
    "admin/": ("/admin/", admin_page()),
    "admin/login/": (
        "/admin/login/",
        {ANON: OK, REP: OK, MARKETER: FOUND, SUPERUSER: FOUND},
    ),
    # The admin sends a stranger's logout to its index (and so to its login page).
    "admin/logout/": (
        "/admin/logout/",
        {ANON: FOUND, REP: FOUND, MARKETER: NOT_ALLOWED, SUPERUSER: NOT_ALLOWED},
    ),
    "admin/password_change/": ("/admin/password_change/", admin_page()),
    "admin/password_change/done/": ("/admin/password_change/done/", admin_page()),
    "admin/autocomplete/": ("/admin/autocomplete/", admin_page(FORBIDDEN)),
    "admin/jsi18n/": ("/admin/jsi18n/", admin_page()),
    "admin/r/<path:content_type_id>/<path:object_id>/": (
        "/admin/r/{page_type}/{page}/",
        admin_page(NOT_FOUND),
    ),
    "admin/(?P<url>.*)$": ("/admin/no-such-page/", admin_page(NOT_FOUND)),
    # Custom admin views.
    "admin/auth/user/<id>/password/": (
        "/admin/auth/user/{user}/password/",
        admin_page(FORBIDDEN, OK),
    ),
    "admin/scoring/scoringrule/simulate/": (
        "/admin/scoring/scoringrule/simulate/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/scoring/scoringrule/<path:object_id>/simulate/": (
        "/admin/scoring/scoringrule/{rule}/simulate/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/scoring/scoringrule/rescore/": (
        "/admin/scoring/scoringrule/rescore/",
        admin_page(NOT_ALLOWED),
    ),
    "admin/nurture/step/<int:step_id>/preview/": (
        "/admin/nurture/step/{step}/preview/",
        admin_page(),
    ),
    # Sign-in.
    "accounts/login/": ("/accounts/login/", everyone(OK)),
    "accounts/logout/": ("/accounts/logout/", everyone(NOT_ALLOWED)),
    # Public pages: anyone, signed in or not.
    "l/<slug:slug>/": ("/l/{slug}/", everyone(OK)),
    "l/<slug:slug>/thanks/": ("/l/{slug}/thanks/", everyone(OK)),
    "l/<slug:slug>/embed/": ("/l/{slug}/embed/", everyone(OK)),
    "l/<slug:slug>/embed/thanks/": ("/l/{slug}/embed/thanks/", everyone(OK)),
    "u/<str:token>/": ("/u/{unsubscribe}/", everyone(OK)),
    "c/<str:token>/": ("/c/{confirm}/", everyone(OK)),
    "t/o/<str:token>.gif": ("/t/o/{open}.gif", everyone(OK)),
    "t/c/<str:token>/": ("/t/c/{click}/", everyone(FOUND)),
    "email-test/<slug:kind>/": ("/email-test/unsubscribe/", everyone(OK)),
    "book/<str:token>/": ("/book/{booking}/", everyone(OK)),
    # GET asks "are you sure?"; the signed token is the key, as for the booking page.
    "book/<str:token>/cancel/": ("/book/{booking}/cancel/", everyone(OK)),
    "book/feed/<str:token>/consultations.ics": (
        "/book/feed/{feed}/consultations.ics",
        everyone(OK),
    ),
    "book/<str:token>/invite.ics": ("/book/{booking}/invite.ics", everyone(OK)),
    # Sales workspace.
    "sales/": ("/sales/", sales_page()),
    "sales/live/": ("/sales/live/?since=0", sales_page()),
    # Saved dashboard views: POST only, for anyone who may see the dashboard.
    "sales/views/": ("/sales/views/", sales_page(NOT_ALLOWED)),
    "sales/views/<int:view_id>/delete/": ("/sales/views/1/delete/", sales_page(NOT_ALLOWED)),
    "sales/availability/": (
        "/sales/availability/",
        {ANON: LOGIN, REP: OK, MARKETER: FORBIDDEN, SUPERUSER: OK},
    ),
    "sales/metrics/": ("/sales/metrics/", sales_page()),
    "sales/leads/<int:lead_id>/": ("/sales/leads/{lead}/", sales_page()),
    "sales/leads/<int:lead_id>/score/": ("/sales/leads/{lead}/score/", sales_page()),
    # Claiming is sales work (capture.claim_lead): a marketer may change a lead, not own it.
    "sales/leads/<int:lead_id>/claim/": (
        "/sales/leads/{lead}/claim/",
        {ANON: LOGIN, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
    # So are moving it through the pipeline and handing it to another rep (as on the board).
    "sales/leads/<int:lead_id>/reassign/": (
        "/sales/leads/{lead}/reassign/",
        {ANON: LOGIN, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
    "sales/leads/<int:lead_id>/stage/": (
        "/sales/leads/{lead}/stage/",
        {ANON: LOGIN, REP: NOT_ALLOWED, MARKETER: FORBIDDEN, SUPERUSER: NOT_ALLOWED},
    ),
    "sales/leads/<int:lead_id>/notes/": ("/sales/leads/{lead}/notes/", sales_page(NOT_ALLOWED)),
    "sales/leads/<int:lead_id>/sequences/stop/": (
        "/sales/leads/{lead}/sequences/stop/",
        sales_page(NOT_ALLOWED),
    ),
    "sales/leads/<int:lead_id>/sequences/pause/": (
        "/sales/leads/{lead}/sequences/pause/",
        sales_page(NOT_ALLOWED),
    ),
}

# ESP webhooks (django-anymail): authenticated by the ESP's shared secret, never by a user
# session, and not there at all until ANYMAIL_WEBHOOK_SECRET is set (leadfunnel.urls); the
# suite runs without one. With it, test_webhooks.py.
ANYMAIL_WEBHOOKS = (
    "amazon_ses/inbound/",
    "brevo/inbound/",
    "mailersend/inbound/",
    "^mailgun/inbound(_mime)?/$",
    "mailjet/inbound/",
    "mailtrap/inbound/",
    "postal/inbound/",
    "postmark/inbound/",
    "sendgrid/inbound/",
    "sendinblue/inbound/",
    "sparkpost/inbound/",
    "amazon_ses/tracking/",
    "brevo/tracking/",
    "mailersend/tracking/",
    "mailgun/tracking/",
    "mailjet/tracking/",
    "mailtrap/tracking/",
    "postal/tracking/",
    "postmark/tracking/",
    "resend/inbound/",
    "resend/tracking/",
    "sendgrid/tracking/",
    "sendinblue/tracking/",
    "sparkpost/tracking/",
    "unisender_go/tracking/",
    "mandrill/",
    "mandrill/tracking/",
)
for _webhook in ANYMAIL_WEBHOOKS:
    _path = "mailgun/inbound/" if _webhook.startswith("^") else _webhook
    ROUTES[f"anymail/{_webhook}"] = (f"/anymail/{_path}", everyone(NOT_FOUND))

# Registered admin models: (changelist, add page) for a marketer, then for a superuser.
# Marketers get their own apps' models (groups' data migrations); users, groups, beat
# schedules, login attempts and rep profiles are the superuser's.
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "auth.group": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "auth.user": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "django_celery_beat.periodictask": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "django_celery_beat.clockedschedule": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "django_celery_beat.crontabschedule": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "django_celery_beat.solarschedule": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "django_celery_beat.intervalschedule": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "axes.accessattempt": ((FORBIDDEN, FORBIDDEN), (OK, FORBIDDEN)),
    "axes.accesslog": ((FORBIDDEN, FORBIDDEN), (OK, FORBIDDEN)),
    "axes.accessfailurelog": ((FORBIDDEN, FORBIDDEN), (OK, FORBIDDEN)),
    "capture.landingpage": ((OK, OK), (OK, OK)),
    "capture.campaign": ((OK, OK), (OK, OK)),
    # Marketers may add leads by hand (and through the API: api/migrations/0002).
    "capture.lead": ((OK, OK), (OK, OK)),
    "capture.submission": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "scoring.scoringrule": ((OK, OK), (OK, OK)),
    # One row of settings: the list goes straight to it, and there is nothing to add.
    "scoring.scoringconfig": ((FOUND, FORBIDDEN), (FOUND, FORBIDDEN)),
    "scoring.scorechange": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "nurture.sequence": ((OK, OK), (OK, OK)),
    "nurture.step": ((OK, OK), (OK, OK)),
    "nurture.enrollment": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "nurture.delivery": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "nurture.suppression": ((OK, OK), (OK, OK)),
    "sales.repprofile": ((FORBIDDEN, FORBIDDEN), (OK, OK)),
    "sales.salessettings": ((FOUND, FORBIDDEN), (FOUND, FORBIDDEN)),
    "sales.booking": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "sales.note": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "sales.leadchange": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
    "sales.handoff": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
}
# The routes every ModelAdmin gets; covered by the model's row above.
MODEL_ADMIN_ROUTES = (
    "",
    "add/",
    "<path:object_id>/history/",
    "<path:object_id>/delete/",
    "<path:object_id>/change/",
    "<path:object_id>/",
)


# Each area's rows live beside this file (routes_*.py: ROUTES, ADMIN_MODELS, objects()).
AREAS = [importlib.import_module(f"tests.security.{name}") for name in ROUTE_MODULES]
for _area in AREAS:
    assert not set(_area.ROUTES) & set(ROUTES), f"{_area.__name__} repeats a row"
    ROUTES.update(_area.ROUTES)
    ADMIN_MODELS.update(_area.ADMIN_MODELS)


def _app_index_pattern() -> str:
    """The admin's app index pattern names every app with a registered model."""
    labels = dict.fromkeys(model._meta.app_label for model in admin.site._registry)
    return f"admin/^(?P<app_label>{'|'.join(labels)})/$"


def _walk(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            found.append(prefix + str(pattern.pattern))
    return found


def _model_admin_routes() -> set[str]:
    return {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"
        for model in admin.site._registry
        for suffix in MODEL_ADMIN_ROUTES
    }


def _app_index_route() -> dict[str, tuple[str, dict[str, str]]]:
    return {_app_index_pattern(): ("/admin/capture/", admin_page())}


def test_every_route_has_a_row() -> None:
    served = set(_walk(get_resolver().url_patterns))
    generic = _model_admin_routes() | set(_app_index_route())
    missing = served - generic - set(ROUTES)
    assert missing == set(), f"routes without a row in ROUTES: {missing}"
    assert set(ROUTES) - served == set(), "rows for routes that no longer exist"
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS), "admin models without a row in ADMIN_MODELS"


def _objects() -> dict[str, object]:
    page = LandingPageFactory(slug="free-consultation")
    lead = LeadFactory()
    sequence = playbook_sequence(page=page)
    enroll_lead(lead=lead, sequence=sequence)
    delivery = Delivery.objects.filter(enrollment__lead=lead).select_related("step").first()
    assert delivery is not None
    rep = RepProfile.objects.create(user=UserFactory(username="rita"))
    starts_at = timezone.now() + timedelta(days=2)
    Booking.objects.create(
        lead=lead, rep=rep, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30)
    )
    extra: dict[str, object] = {}
    for area in AREAS:
        extra.update(area.objects())
    return {
        **extra,
        "slug": page.slug,
        "page": page.pk,
        "page_type": ContentType.objects.get_for_model(LandingPage).pk,
        "lead": lead.pk,
        "user": rep.user_id,
        "rule": FitRuleFactory().pk,
        "step": delivery.step_id,
        "unsubscribe": tokens.unsubscribe_token(
            lead_id=lead.pk, lead_uid=lead.uid, delivery_id=delivery.pk
        ),
        "confirm": tokens.confirm_token(lead_id=lead.pk, lead_uid=lead.uid),
        "open": tokens.open_token(delivery_id=delivery.pk, lead_uid=lead.uid),
        # A link the step has: a click leads only to those.
        "click": tokens.click_token(
            delivery_id=delivery.pk, lead_uid=lead.uid, url="https://example.com/guide?a=1&b=2"
        ),
        "booking": tokens.booking_token(lead_uid=str(lead.uid)),
        "feed": feed_token(profile=rep),
    }


def _user(role: str) -> User | None:
    return {
        ANON: lambda: None,
        REP: sales_rep,
        MARKETER: marketer,
        SUPERUSER: lambda: UserFactory(is_staff=True, is_superuser=True),
    }[role]()


def _outcome(response: Any) -> str:
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/accounts/login/"):
            return LOGIN
    return str(response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(role: str) -> None:
    objects = _objects()
    client = Client(raise_request_exception=False)
    user = _user(role)
    if user is not None:
        client.force_login(user)
    wrong = []
    for pattern, (url, expected) in {**ROUTES, **_app_index_route()}.items():
        got = _outcome(client.get(url.format(**objects)))
        if got != expected[role]:
            wrong.append(f"{pattern!r} ({url}): expected {expected[role]}, got {got}")
    for label, (as_marketer, as_superuser) in ADMIN_MODELS.items():
        app_label, model_name = label.split(".")
        for suffix, index in (("", 0), ("add/", 1)):
            url = f"/admin/{app_label}/{model_name}/{suffix}"
            expected_here = {
                ANON: ADMIN_LOGIN,
                REP: ADMIN_LOGIN,
                MARKETER: as_marketer[index],
                SUPERUSER: as_superuser[index],
            }[role]
            got = _outcome(client.get(url))
            if got != expected_here:
                wrong.append(f"{url}: expected {expected_here}, got {got}")
    assert not wrong, "\n".join(wrong)
