import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.csp import CSP, build_policy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from capture.forms import TRACKING_FIELDS, CaptureForm
from capture.models import LandingPage
from capture.rendering import render_markdown
from capture.selectors import landing_page_get_for_visitor
from capture.services import UTM_FIELDS, Tracking, capture_submission
from capture.tracking import set_tracking_cookie

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "HEAD", "POST"])
def landing_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _capture_view(request, slug=slug, embed=False)


# The embed runs in an iframe on another site, where browsers withhold our CSRF cookie
# (third-party cookies). A lead form acts for no logged-in user, so CSRF protects nothing
# there; the signed "started" token, the honeypot and the rate limit still apply.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def landing_page_embed(request: HttpRequest, slug: str) -> HttpResponse:
    return _capture_view(request, slug=slug, embed=True)


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
    return render(request, "capture/thanks.html", {"page": page, "preview": preview})


@xframe_options_exempt
def thanks_embed(request: HttpRequest, slug: str) -> HttpResponse:
    page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
    response = render(
        request, "capture/thanks.html", {"page": page, "preview": preview, "embed": True}
    )
    return _allow_framing(response, page=page)


def _capture_view(request: HttpRequest, *, slug: str, embed: bool) -> HttpResponse:
    page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
    status = 200
    if request.method == "POST":
        if capture_rate_limited(request):
            response = render(request, "capture/rate_limited.html", {"page": page}, status=429)
            response["Retry-After"] = "60"
            return _allow_framing(response, page=page) if embed else response
        form = CaptureForm(request.POST, page=page)
        if form.looks_automated():
            return _after_submit(page=page, embed=embed)
        if form.is_valid():
            data = form.cleaned_data
            result = capture_submission(
                page=page,
                data={
                    k: v
                    for k, v in data.items()
                    if k not in ("website", "started", "email_checked")
                },
                tracking=Tracking(
                    utm={name: data[name] for name in UTM_FIELDS},
                    referrer=data["referrer"],
                    user_agent=request.headers.get("User-Agent", "")[:500],
                    ip=request.META.get(settings.RATELIMIT_IP_META_KEY, ""),
                ),
                answer=data.get("answer", ""),
                consent_given=bool(data.get("consent")),
                sms_consent_given=bool(data.get("sms_consent")),
            )
            response = _after_submit(page=page, embed=embed)
            if not embed:
                # First-party only: inside another site's iframe the cookie would be a
                # third-party one, which browsers drop anyway.
                set_tracking_cookie(response, request=request, lead=result.lead)
            return response
        status = 400
    else:
        initial = {name: request.GET.get(name, "") for name in UTM_FIELDS}
        initial["referrer"] = request.headers.get("Referer", "")
        form = CaptureForm(
            page=page, initial={k: v[: TRACKING_FIELDS[k]] for k, v in initial.items()}
        )
        if not preview:
            LandingPage.objects.filter(pk=page.pk).update(view_count=F("view_count") + 1)
    context = {
        "page": page,
        "form": form,
        "preview": preview,
        "embed": embed,
        "body_html": render_markdown(page.body),
    }
    template = "capture/embed.html" if embed else "capture/landing_page.html"
    response = render(request, template, context, status=status)
    return _allow_framing(response, page=page) if embed else _allow_redirect(response, page=page)


def capture_rate_limited(request: HttpRequest) -> bool:
    """Counts one capture attempt from this IP; shared with the public capture API."""
    rate = settings.CAPTURE_RATE_LIMIT
    if rate in ("", "0"):
        return False
    try:
        return is_ratelimited(
            request, group="capture", key="ip", rate=rate, method="POST", increment=True
        )
    except Exception:
        # The limit lives in Redis; with Redis down a prospect still gets through (fail open):
        # losing a lead is worse than letting a few extra forms in.
        logger.warning("rate limit unavailable; letting the form through", exc_info=True)
        return False


def _after_submit(*, page: LandingPage, embed: bool) -> HttpResponse:
    if page.redirect_url and not embed:
        return HttpResponseRedirect(page.redirect_url)
    name = "capture:thanks_embed" if embed else "capture:thanks"
    return HttpResponseRedirect(reverse(name, kwargs={"slug": page.slug}))


# A bare scheme://host[:port]: anything else (";", quotes, paths) could add CSP directives.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _with_policy(response: HttpResponse, **directives: list[str]) -> HttpResponse:
    """The site's CSP with some directives replaced, set on the response.

    ContentSecurityPolicyMiddleware leaves a response that already has the header alone,
    so this is the only policy sent: one header, never a second one from the middleware.
    """
    policy = {**settings.SECURE_CSP, **{k.replace("_", "-"): v for k, v in directives.items()}}
    # str(): a StrEnum key passes Django but not WSGI servers that demand exact str (wsgiref).
    response[str(CSP.HEADER_ENFORCE)] = build_policy(policy)
    return response


def _allow_framing(response: HttpResponse, *, page: LandingPage) -> HttpResponse:
    # https origins only (capture.origins): older rows may still list http:// or junk lines.
    return _with_policy(response, frame_ancestors=[CSP.SELF, *page.embed_origin_list])


def _allow_redirect(response: HttpResponse, *, page: LandingPage) -> HttpResponse:
    # Browsers apply form-action to the redirect after the POST too: a page whose thank-you
    # lives on another site must allow that origin, or the prospect is stopped mid-submit.
    parts = urlsplit(page.redirect_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not page.redirect_url or not _ORIGIN.fullmatch(origin):
        return response
    return _with_policy(response, form_action=[CSP.SELF, origin])
