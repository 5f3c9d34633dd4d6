import base64

from django.core import signing
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nurture import tokens
from nurture.selectors import lead_for_link
from nurture.services import engagement, scheduling, sms
from nurture.services.composing import TEST_LINKS

_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie and no CSRF
# token; the signed token is what authorises the request. A GET only asks for confirmation,
# because mail scanners fetch every link.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = tokens.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    # An erased lead's link names its old uid: it finds no one, and so changes nothing.
    lead = lead_for_link(lead_id=link.lead_id, lead_uid=link.lead_uid)
    if lead is None:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        engagement.unsubscribe(lead_id=lead.pk, delivery_id=link.delivery_id)
        return render(request, "nurture/unsubscribed.html", {"email": lead.email})
    return render(request, "nurture/unsubscribe.html", {"email": lead.email, "token": token})


@never_cache
@require_GET
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = tokens.read_open_token(token)
    except signing.BadSignature:
        raise Http404("Unknown link") from None
    engagement.record_open(delivery_id=link.delivery_id, lead_uid=link.lead_uid)
    return HttpResponse(_PIXEL, content_type="image/gif")


@never_cache
@require_GET
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = tokens.read_click_token(token)
    except signing.BadSignature:
        raise Http404("Unknown link") from None
    if not link.url.startswith(("https://", "http://")):
        raise Http404("Unknown link")
    destination = engagement.follow_click(
        delivery_id=link.delivery_id, lead_uid=link.lead_uid, url=link.url,
        user_agent=request.headers.get("User-Agent", ""),
    )  # fmt: skip
    return HttpResponseRedirect(destination)


# A GET only shows the button: mail scanners follow links, and must not confirm for people.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = tokens.read_confirm_token(token)
    except signing.BadSignature:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    lead = lead_for_link(lead_id=link.lead_id, lead_uid=link.lead_uid)
    if lead is None:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        scheduling.confirm_enrollments(lead_id=lead.pk)
        return render(request, "nurture/confirmed.html", {"email": lead.email})
    return render(request, "nurture/confirm.html", {"email": lead.email})


# A marketer's test email links here instead of acting on a lead. POST too: a mail client
# honouring List-Unsubscribe-Post sends one, with no cookie or CSRF token.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def test_link(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in TEST_LINKS:
        raise Http404("Unknown link")
    return render(request, "nurture/test_link.html", {"kind": kind})


# Twilio posts with no CSRF token; its X-Twilio-Signature (HMAC of our URL and the fields
# with our auth token) is what authenticates the request, checked before anything changes.
@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    if not sms.twilio_signature_valid(
        path=request.get_full_path(),
        params=request.POST,
        signature=request.headers.get("X-Twilio-Signature", ""),
    ):
        return HttpResponseForbidden("Bad or missing X-Twilio-Signature.")
    twiml = sms.handle_inbound_sms(
        from_number=request.POST.get("From", ""), body=request.POST.get("Body", "")
    )
    return HttpResponse(twiml, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    if not sms.twilio_signature_valid(
        path=request.get_full_path(),
        params=request.POST,
        signature=request.headers.get("X-Twilio-Signature", ""),
    ):
        return HttpResponseForbidden("Bad or missing X-Twilio-Signature.")
    sms.record_sms_status(
        sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)
