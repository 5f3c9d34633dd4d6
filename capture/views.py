import logging
import re
from contextlib import nullcontext
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.csp import CSP, build_policy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from capture import anonymous, page_cache, views_counter
from capture.booking_links import offer_booking_link
from capture.forms import TRACKING_FIELDS, CaptureForm
from capture.models import LandingPage, Lead
from capture.pages import (
    image_response,
    page_context,
    page_image_field,
    thanks_context,
    thanks_token,
)
from capture.selectors import landing_page_get_for_visitor
from capture.services import UTM_FIELDS, CaptureResult
from capture.tracking import COOKIE_NAME, lead_for_tracking_token, set_tracking_cookie

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
    context = thanks_context(page=page, token=request.GET.get("t", ""))
    return render(request, "capture/thanks.html", {**context, "preview": preview})


@xframe_options_exempt
def thanks_embed(request: HttpRequest, slug: str) -> HttpResponse:
    page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
    context = thanks_context(page=page, token=request.GET.get("t", ""))
    response = render(
        request, "capture/thanks.html", {**context, "preview": preview, "embed": True}
    )
    return _allow_framing(response, page=page)


def page_image(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A page's hero image or its brand's logo, read through the storage API.

    Served from our origin rather than the storage's own URL: the pages' CSP allows images
    from 'self' only, and the type sent is the one the upload was checked to be.
    """
    page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
    response = image_response(field=page_image_field(page=page, name=name))
    if preview:  # an unpublished page's image is for staff: no shared cache keeps it
        response["Cache-Control"] = "private, no-store"
    return response


def _capture_view(request: HttpRequest, *, slug: str, embed: bool) -> HttpResponse:
    if (cached := _for_everyone(request, slug=slug, embed=embed)) is not None:
        return cached
    kept = page_cache.kept_form(slug=slug) if request.method == "POST" else None
    if kept is not None:  # a published page, the same for everyone
        (page, extra_fields), preview = kept, False
    else:
        page, preview = landing_page_get_for_visitor(user=request.user, slug=slug)
        extra_fields = None
        if request.method == "POST" and not preview:
            extra_fields = page_cache.keep_form(page)
    status = 200
    linked: Lead | None = None
    if request.method == "POST":
        if capture_rate_limited(request):
            response = render(request, "capture/rate_limited.html", {"page": page}, status=429)
            response["Retry-After"] = "60"
            return _allow_framing(response, page=page) if embed else response
        returning = _returning_lead(request) if not embed else None
        form = CaptureForm(request.POST, page=page, returning=returning, extra_fields=extra_fields)
        if form.looks_automated():
            return _after_submit(page=page, embed=embed)
        if form.is_valid():
            visitor = anonymous.valid_visitor(request.COOKIES.get(anonymous.COOKIE_NAME))
            # With no anonymous history to join (an ad's click: a new visitor) the capture
            # is one statement and its own transaction; BEGIN and COMMIT around it would
            # only add two round trips to PostgreSQL to every POST.
            with transaction.atomic() if visitor else nullcontext():
                result = form.submit(request)
                # What this browser read before raising its hand joins the lead with it.
                anonymous.join_visitor(visitor=visitor, lead_id=result.lead.pk, via="form")
            response = _after_submit(page=page, embed=embed, result=result)
            if not embed and result.proven:
                # First-party only: inside another site's iframe the cookie would be a
                # third-party one, which browsers drop anyway. And only the lead's own: a
                # stranger who typed a known address must not become that lead here.
                set_tracking_cookie(response, request=request, lead=result.lead)
            return response
        status = 400
    else:
        initial = _tracking_initial(request)
        # A signed link from one of our emails (`?lf=`, the lf_id token) names the lead
        # as the cookie would, and sets the cookie so the form's POST is read the same way.
        linked = None if embed else lead_for_tracking_token(request.GET.get("lf", ""))
        returning = linked or (_returning_lead(request) if not embed else None)
        if not preview:
            views_counter.count_view(page.pk)
        if page_cache.cacheable(request, preview=preview, returning=returning):
            # A new visitor: the page as rendered for everyone, with this visit's values.
            response = page_cache.render_cached(
                request,
                page=page,
                embed=embed,
                values=initial,
                render=lambda marked: _render_page(
                    request,
                    page=page,
                    preview=preview,
                    embed=embed,
                    form=CaptureForm(page=page, initial=dict(marked)),
                ),
            )
            if embed:
                return _allow_framing(response, page=page)
            return _allow_redirect(response, page=page)
        form = CaptureForm(page=page, initial=initial, returning=returning)
    response = _render_page(
        request, page=page, preview=preview, embed=embed, form=form, status=status
    )
    if linked is not None:
        set_tracking_cookie(response, request=request, lead=linked)
    return _allow_framing(response, page=page) if embed else _allow_redirect(response, page=page)


def _for_everyone(request: HttpRequest, *, slug: str, embed: bool) -> HttpResponse | None:
    """An ad click's visit: a new, anonymous visitor's GET of a page this process rendered
    a moment ago, answered from that copy without a query (capture.page_cache)."""
    if (
        request.method not in ("GET", "HEAD")
        or request.user.is_authenticated
        or "lf" in request.GET
        or (not embed and COOKIE_NAME in request.COOKIES)
    ):
        return None
    page = page_cache.fresh_page(slug=slug, embed=embed)
    if page is None:
        return None
    views_counter.count_view(page.pk)
    values = _tracking_initial(request)
    try:
        response = page_cache.render_cached(
            request, page=page, embed=embed, values=values, render=None
        )
    except LookupError:  # the copy was dropped a moment ago (the page was saved)
        return None
    return _allow_framing(response, page=page) if embed else _allow_redirect(response, page=page)


def _tracking_initial(request: HttpRequest) -> dict[str, str]:
    """The form's hidden tracking fields for this visit (UTM parameters, referrer), clipped
    to their lengths: rendered into the page, or filled into its cached copy."""
    values = {name: request.GET.get(name, "") for name in UTM_FIELDS}
    values["referrer"] = request.headers.get("Referer", "")
    return {name: value[: TRACKING_FIELDS[name]] for name, value in values.items()}


def _render_page(
    request: HttpRequest,
    *,
    page: LandingPage,
    preview: bool,
    embed: bool,
    form: CaptureForm,
    status: int = 200,
) -> HttpResponse:
    context = {**page_context(page=page), "form": form, "preview": preview, "embed": embed}
    template = "capture/embed.html" if embed else "capture/landing_page.html"
    return render(request, template, context, status=status)


def capture_rate_limited(request: HttpRequest) -> bool:
    """Counts one capture attempt from this IP; shared with the public capture API."""
    rate = settings.CAPTURE_RATE_LIMIT
    if rate in ("", "0"):
        return False
    try:
        limited = is_ratelimited(
            request, group="capture", key="ip", rate=rate, method="POST", increment=True
        )
    except Exception:
        # The limit lives in Redis; with Redis down a prospect still gets through (fail open):
        # losing a lead is worse than letting a few extra forms in.
        logger.warning("rate limit unavailable; letting the form through", exc_info=True)
        return False
    return bool(limited)


def _returning_lead(request: HttpRequest) -> Lead | None:
    """The lead this browser's signed lf_id cookie names (set by an earlier submission).

    Unquoted first: track.js renews the cookie percent-encoded (`:` as `%3A`); a token as we
    set it has no `%`, so unquoting leaves it as it is.
    """
    token = unquote(request.COOKIES.get(COOKIE_NAME, ""))
    return lead_for_tracking_token(token) if token else None


def _after_submit(
    *, page: LandingPage, embed: bool, result: CaptureResult | None = None
) -> HttpResponse:
    if page.redirect_url and not embed:
        return HttpResponseRedirect(page.redirect_url)
    name = "capture:thanks_embed" if embed else "capture:thanks"
    url = reverse(name, kwargs={"slug": page.slug})
    if result is not None and page.kind == LandingPage.Kind.CONSULTATION:
        if result.proven:
            # The thank-you page's next step is the lead's own (its booking calendar): a
            # signed, short-lived token names it, as no cookie can inside another site's
            # iframe.
            url += "?" + urlencode({"t": thanks_token(lead=result.lead)})
        else:
            # A known address typed by a browser that did not prove it is that lead: the
            # calendar (the lead's name and details, its bookings) goes to the lead's inbox,
            # and the thank-you page says so, as it does for everyone without a token.
            offer_booking_link(lead=result.lead, page=page)
    return HttpResponseRedirect(url)


# A bare scheme://host[:port]: anything else (";", quotes, paths) could add CSP directives.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _with_policy(response: HttpResponse, **directives: list[str]) -> HttpResponse:
    """The site's CSP with some directives replaced, set on the response.

    ContentSecurityPolicyMiddleware leaves a response that already has the header alone,
    so this is the only policy sent: one header, never a second one from the middleware.
    """
    policy: dict[str, Any] = {
        **settings.SECURE_CSP,
        **{k.replace("_", "-"): v for k, v in directives.items()},
    }
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
