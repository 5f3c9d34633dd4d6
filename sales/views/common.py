"""What every sales page shares: who may see it, and the viewer's time zone."""

from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from leadfunnel.zones import zone_or
from sales.models import RepProfile

View = Callable[..., HttpResponse]


def viewer_zone(*, user: User | AnonymousUser) -> ZoneInfo:
    """The rep's own time zone (RepProfile.time_zone), UTC for everyone else."""
    if not user.is_authenticated:
        return zone_or(None)
    name = RepProfile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    return zone_or(name)


def zone_of(request: HttpRequest) -> ZoneInfo:
    """The viewer's zone, as `sales_view` found it."""
    return getattr(request, "viewer_zone", None) or ZoneInfo("UTC")


def sales_view(*permissions: str) -> Callable[[View], View]:
    """Login (anonymous → login page), the permissions (else 403), times in the viewer's zone.

    With no permission named, the page needs capture.view_lead: sales reps and marketers.
    """
    required = permissions or ("capture.view_lead",)

    def decorate(view: View) -> View:
        @wraps(view)
        def in_viewer_zone(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            zone = viewer_zone(user=request.user)
            request.viewer_zone = zone  # type: ignore[attr-defined]
            # override, not activate: the zone must not outlive this request's thread use.
            with timezone.override(zone):
                return view(request, *args, **kwargs)

        return login_required(permission_required(required, raise_exception=True)(in_viewer_zone))

    return decorate


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request (django-htmx's middleware is not required for this)."""
    return request.headers.get("HX-Request") == "true"


def safe_next(request: HttpRequest, *, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else default
