"""A landing page's HTML rendered once per page version and process, then filled in per
visitor: what lets one page take an ad campaign's burst of clicks.

Rendering the page through the template engine and crispy-forms costs tens of
milliseconds (a country select alone is 250 option renders); everything in it is the same
for every new visitor except four kinds of values: the CSRF token, the signed start time,
the hidden tracking fields (UTM parameters, referrer) and nothing else. So the page is
rendered with markers in their place, kept per process for PAGE_CACHE_SECONDS under the
page's id, `updated_at` and layout (page or embed), and each visit gets a copy with its own
values put in, HTML-escaped as the template would have.

Only for what is the same for everyone: an anonymous visitor's GET of a published page
with no returning-lead cookie or emailed-link token (progressive profiling changes the
form), never a bound form with errors. Within CAPTURE_PAGE_CACHE_SECONDS (5) such a visit
needs no query at all, not even for the page's row (its view is counted in memory,
capture.views_counter): a saved page drops this process's copy at once (post_save), and the
other processes' copies expire; so do changes `updated_at` does not see (a brand's colours,
a topic added to the page), and unpublishing takes as long to reach every process.
"""

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.html import escape

from capture.forms import form_extra_fields, form_started_token
from capture.models import LandingPage

MAX_PAGES = 256
# Random per process: a visitor's value can never be mistaken for a marker.
_MARK = "lfmark" + secrets.token_hex(12)
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")([^"]+)(")')
_STARTED = re.compile(r'(name="started" value=")([^"]+)(")')
# (slug, embed) → (fresh until, page, body with markers, status, headers)
_Entry = tuple[float, LandingPage, bytes, int, dict[str, str]]
_pages: "OrderedDict[tuple[str, bool], _Entry]" = OrderedDict()
# slug → (fresh until, page, its form's extra fields): what a POST needs (kept_form).
_forms: dict[str, tuple[float, LandingPage, Mapping[str, forms.Field]]] = {}


def marker(name: str) -> str:
    return f"{_MARK}{name}x"


def cacheable(request: HttpRequest, *, preview: bool, returning: object) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not preview
        and returning is None
        and not request.user.is_authenticated
    )


def fresh_page(*, slug: str, embed: bool) -> LandingPage | None:
    """The published page this process rendered for everyone, while its copy is fresh."""
    entry = _pages.get((slug, embed))
    return entry[1] if entry is not None and entry[0] >= time.monotonic() else None


def render_cached(
    request: HttpRequest,
    *,
    page: LandingPage,
    embed: bool,
    values: Mapping[str, str],
    render: Callable[[Mapping[str, str]], HttpResponse] | None,
) -> HttpResponse:
    """The page for this visit: `render(initial)` makes it (with markers for `values`) when
    this process has no fresh copy (None: take the copy `fresh_page` found, as it is); the
    visitor's `values` are filled in either way."""
    key = (page.slug, embed)
    now = time.monotonic()
    cached = _pages.get(key)
    stale = cached is None or cached[0] < now or cached[1].updated_at != page.updated_at
    if stale and render is not None:
        response = render({name: marker(name) for name in values})
        if response.status_code != 200:
            return response
        html = response.content.decode()
        html = _CSRF.sub(lambda m: m.group(1) + marker("csrf") + m.group(3), html, count=1)
        html = _STARTED.sub(lambda m: m.group(1) + marker("started") + m.group(3), html, count=1)
        headers = {k: v for k, v in response.items() if k.lower() != "content-length"}
        ttl = settings.CAPTURE_PAGE_CACHE_SECONDS
        cached = (now + ttl, page, html.encode(), response.status_code, headers)
        _pages[key] = cached
        _pages.move_to_end(key)
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)
    if cached is None:  # dropped since fresh_page found it: render as usual
        raise LookupError(key)
    _, _, body, status, headers = cached
    filled = body.decode()
    for name, value in (
        *values.items(),
        ("csrf", get_token(request)),
        ("started", form_started_token()),
    ):
        filled = filled.replace(marker(name), str(escape(value)))
    response = HttpResponse(filled, status=status)
    for header, value in headers.items():
        response[header] = value
    return response


def kept_form(*, slug: str) -> tuple[LandingPage, Mapping[str, forms.Field]] | None:
    """For a form POSTed to a published page: its row and the fields higher apps add to its
    form (topic opt-ins), as this process read them within PAGE_CACHE_SECONDS, or None.

    A POST takes the page as the GET that showed the form did, stale by as long and dropped
    with it: under an ad spike this saves every POST two queries."""
    entry = _forms.get(slug)
    return (entry[1], entry[2]) if entry is not None and entry[0] >= time.monotonic() else None


def keep_form(page: LandingPage) -> Mapping[str, forms.Field]:
    """Keep a published page's row and its form's extra fields for `kept_form`."""
    extra_fields = form_extra_fields(page)
    _forms[page.slug] = (time.monotonic() + settings.CAPTURE_PAGE_CACHE_SECONDS, page, extra_fields)
    if len(_forms) > MAX_PAGES:  # more pages than that in PAGE_CACHE_SECONDS: start afresh
        _forms.clear()
    return extra_fields


def forget(slug: str | None = None) -> None:
    """Drop this process's copies: of one page (saved), or all (tests)."""
    if slug is None:
        _pages.clear()
        _forms.clear()
        return
    for key in [key for key in _pages if key[0] == slug]:
        _pages.pop(key, None)
    _forms.pop(slug, None)
