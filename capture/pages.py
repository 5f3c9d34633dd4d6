"""What a landing page and its thank-you page render with: copy, look, images, next step.

Shared by the public views and the admin's live preview, so the preview is the page.
"""

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.module_loading import import_string

from capture.branding import Look, brand_for_page, look_for
from capture.models import Brand, LandingPage, Lead
from capture.rendering import render_markdown
from capture.validators import image_type

_THANKS_SALT = "capture.thanks"
# Long enough to read the page, pick a day and come back to it; short enough that a
# forwarded thank-you URL soon stops opening someone's calendar.
THANKS_MAX_AGE_SECONDS = 6 * 60 * 60
IMAGE_NAMES = ("hero", "logo")


def page_image_field(*, page: LandingPage, name: str) -> FieldFile:
    if name == "hero" and page.hero_image:
        return page.hero_image
    brand = brand_for_page(page=page) if name == "logo" else None
    if brand is not None and brand.logo:
        return brand.logo
    raise Http404("No such image")


def image_response(*, field: FieldFile) -> HttpResponse:
    if not field.name:
        raise Http404("No such image")
    try:
        with field.storage.open(field.name, "rb") as stored:
            content = stored.read(settings.CAPTURE_IMAGE_MAX_BYTES + 1)
    except OSError as error:
        raise Http404("No such image") from error
    mime = image_type(content[:12])
    if not mime:
        raise Http404("No such image")
    response = HttpResponse(content, content_type=mime)
    # Names are fresh per upload, so a URL's bytes never change.
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _image_url(*, page: LandingPage, name: str) -> str:
    return reverse("capture:image", kwargs={"slug": page.slug, "name": name})


def page_context(
    *, page: LandingPage, brand: Brand | None = None, image_urls: dict[str, str] | None = None
) -> dict[str, Any]:
    """The landing page's template context. The preview passes its unsaved brand and images
    (as data: URLs); the public page reads them from the rows."""
    if image_urls is None:
        brand = brand_for_page(page=page)
        image_urls = {
            "hero": _image_url(page=page, name="hero") if page.hero_image else "",
            "logo": _image_url(page=page, name="logo") if brand and brand.logo else "",
        }
    look: Look = look_for(brand=brand, logo_url=image_urls.get("logo", ""))
    return {
        "page": page,
        "look": look,
        "hero_url": image_urls.get("hero", ""),
        "body_html": render_markdown(page.body),
    }


def thanks_token(*, lead: Lead) -> str:
    return signing.dumps(str(lead.uid), salt=_THANKS_SALT)


def _lead_for_thanks_token(token: str) -> Lead | None:
    if not token or len(token) > 300:
        return None
    try:
        uid = signing.loads(token, salt=_THANKS_SALT, max_age=THANKS_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return Lead.objects.filter(uid=str(uid)).first()


def booking_url_for(*, lead: Lead) -> str:
    """The lead's signed booking URL. Booking lives in apps to capture's right (DESIGN.md:
    capture imports none of them), so the project names the builder in a setting."""
    builder = import_string(settings.CAPTURE_BOOKING_URL_BUILDER)
    return str(builder(lead=lead))


def thanks_context(*, page: LandingPage, token: str) -> dict[str, Any]:
    """The thank-you page's next step: the lead's booking calendar on a consultation page,
    the page's own link elsewhere. Without a valid token a consultation page shows no
    calendar: it would not know whose it is (a bot's thank-you, an old URL), or the address
    typed was a known lead's and the browser did not prove it is that lead
    (capture.booking_links); it says the link is on its way by email instead."""
    brand = brand_for_page(page=page)
    logo = _image_url(page=page, name="logo") if brand and brand.logo else ""
    next_url, label, frame_url = page.next_step_url, page.next_step_label, ""
    if page.kind == LandingPage.Kind.CONSULTATION:
        lead = _lead_for_thanks_token(token)
        next_url = booking_url_for(lead=lead) if lead is not None and not lead.is_erased else ""
        label = label or "Pick a time now"
        if next_url:
            # The calendar inside the page (booking's compact `?embed=1`, framable by this
            # site only), by path: SITE_URL may name another host than the one serving us,
            # and the page's CSP allows frames from 'self' alone.
            frame_url = urlsplit(next_url).path + "?" + urlencode({"embed": "1"})
    return {
        "page": page,
        "look": look_for(brand=brand, logo_url=logo),
        "next_step_url": next_url,
        "next_step_label": label or "Continue",
        "booking_frame_url": frame_url,
        "is_booking": page.kind == LandingPage.Kind.CONSULTATION,
        "booking_link_emailed": page.kind == LandingPage.Kind.CONSULTATION and not next_url,
    }
