import base64

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from capture.models import Lead
from nurture import tokens
from nurture.services import engagement, scheduling

_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie and no CSRF
# token; the signed token is what authorises the request. A GET only asks for confirmation,
# because mail scanners fetch every link.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = tokens.read_unsubscribe_token(token)
        lead = Lead.objects.get(pk=data["l"])
    except (signing.BadSignature, KeyError, TypeError, Lead.DoesNotExist):
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        engagement.unsubscribe(lead_id=lead.pk, delivery_id=data.get("d"))
        return render(request, "nurture/unsubscribed.html", {"email": lead.email})
    return render(request, "nurture/unsubscribe.html", {"email": lead.email, "token": token})


@never_cache
@require_GET
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        delivery_id = tokens.read_open_token(token)
    except (signing.BadSignature, ValueError):
        raise Http404("Unknown link") from None
    engagement.record_open(delivery_id=delivery_id)
    return HttpResponse(_PIXEL, content_type="image/gif")


@never_cache
@require_GET
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = tokens.read_click_token(token)
        delivery_id, url = int(data["d"]), str(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404("Unknown link") from None
    if not url.startswith(("https://", "http://")):
        raise Http404("Unknown link")
    engagement.record_click(
        delivery_id=delivery_id, url=url, user_agent=request.headers.get("User-Agent", "")
    )
    # Only ever the URL that was signed into the token: no open redirect.
    return HttpResponseRedirect(url)


# A GET only shows the button: mail scanners follow links, and must not confirm for people.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lead = Lead.objects.get(pk=tokens.read_confirm_token(token))
    except (signing.BadSignature, ValueError, Lead.DoesNotExist):
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        scheduling.confirm_enrollments(lead_id=lead.pk)
        return render(request, "nurture/confirmed.html", {"email": lead.email})
    return render(request, "nurture/confirm.html", {"email": lead.email})
