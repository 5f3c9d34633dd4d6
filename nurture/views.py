import base64

from django.conf import settings
from django.core import signing
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from capture import anonymous
from capture.models import Lead
from capture.services import hash_ip
from leadfunnel.security import client_ip
from nurture import tokens
from nurture.models import ConsentRecord
from nurture.selectors import lead_for_link, left_before_confirming
from nurture.services import engagement, scheduling, sms, topics
from nurture.services.composing import TEST_LINKS
from nurture.topic_selectors import preferences_for, topic_of_delivery

_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie and no CSRF
# token; the signed token is what authorises the request, and it leaves the topic of the
# email it came in (every email, for a link that names none). A GET shows the preference
# page and changes nothing, because mail scanners fetch every link.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = _lead_of_unsubscribe_link(token)
    if found is None:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    lead, link = found
    if request.method != "POST":
        return _preferences_page(request, lead=lead, link=link, token=token)
    topic = topic_of_delivery(delivery_id=link.delivery_id, lead_id=lead.pk)
    ip_hash = hash_ip(client_ip(request) or "")
    if topic is None:
        topics.unsubscribe_from_everything(
            lead_id=lead.pk,
            source=ConsentRecord.Source.ONE_CLICK,
            ip_hash=ip_hash,
            delivery_id=link.delivery_id,
        )
    else:
        topics.leave_topic(
            lead_id=lead.pk,
            topic_id=topic.pk,
            source=ConsentRecord.Source.ONE_CLICK,
            ip_hash=ip_hash,
            delivery_id=link.delivery_id,
        )
    return render(
        request, "nurture/unsubscribed.html", {"email": lead.email, "topic": topic, "token": token}
    )


# The preference page's own form: a person in a browser, so CSRF-protected (unlike the
# one-click POST above), and authorised by the same signed token in its address.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    found = _lead_of_unsubscribe_link(token)
    if found is None:
        return render(request, "nurture/unsubscribe_invalid.html", status=400)
    lead, link = found
    if request.method != "POST":
        # The address a saved form left in the bar (reopened, bookmarked): the page itself.
        return redirect("nurture:unsubscribe", token)
    ip_hash = hash_ip(client_ip(request) or "")
    if request.POST.get("action") == "everything":
        topics.unsubscribe_from_everything(
            lead_id=lead.pk,
            source=ConsentRecord.Source.PREFERENCES,
            ip_hash=ip_hash,
            delivery_id=link.delivery_id,
        )
        return render(
            request,
            "nurture/unsubscribed.html",
            {"email": lead.email, "topic": None, "token": token},
        )
    try:
        wanted = {int(value) for value in request.POST.getlist("topic")}
    except ValueError:
        return _preferences_page(
            request,
            lead=lead,
            link=link,
            token=token,
            status=400,
            error="The form was not sent as the page wrote it: try again.",
        )
    try:
        changed = topics.save_preferences(
            lead_id=lead.pk,
            subscribed=wanted,
            resume=request.POST.get("resume") == "on",
            ip_hash=ip_hash,
        )
    except topics.TopicRefused as refused:
        return _preferences_page(
            request, lead=lead, link=link, token=token, status=400, error=str(refused)
        )
    notice = "Your choices are saved." if changed else "Nothing changed: these were your choices."
    return _preferences_page(request, lead=lead, link=link, token=token, notice=notice)


def _lead_of_unsubscribe_link(token: str) -> tuple[Lead, tokens.LeadLink] | None:
    """The lead a signed unsubscribe link names, or None for a forged or altered one, or one
    made for a lead since erased (it names the old uid: it finds no one, changes nothing)."""
    try:
        link = tokens.read_unsubscribe_token(token)
    except signing.BadSignature:
        return None
    lead = lead_for_link(lead_id=link.lead_id, lead_uid=link.lead_uid)
    return (lead, link) if lead is not None else None


def _preferences_page(
    request: HttpRequest,
    *,
    lead: Lead,
    link: tokens.LeadLink,
    token: str,
    status: int = 200,
    error: str = "",
    notice: str = "",
) -> HttpResponse:
    context = {
        "preferences": preferences_for(lead=lead, delivery_id=link.delivery_id),
        "email": lead.email,
        "token": token,
        "error": error,
        "notice": notice,
        "resume_ticked": request.method == "POST" and request.POST.get("resume") == "on",
    }
    return render(request, "nurture/preferences.html", context, status=status)


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
        # A link a mail client wrapped or cut, or one tampered with: nothing is recorded
        # and nobody is sent anywhere but our own home page (as follow_click does).
        return HttpResponseRedirect(f"{settings.SITE_URL}/")
    if not link.url.startswith(("https://", "http://")):
        return HttpResponseRedirect(f"{settings.SITE_URL}/")
    destination = engagement.follow_click(
        delivery_id=link.delivery_id,
        lead_uid=link.lead_uid,
        url=link.url,
        user_agent=request.headers.get("User-Agent", ""),
    )
    # A browser that read our pages before it was known: that history joins the lead now.
    anonymous.join_visitor_to_lead_uid(
        visitor=request.COOKIES.get(anonymous.COOKIE_NAME, ""), lead_uid=link.lead_uid, via="email"
    )
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
    if left_before_confirming(lead=lead):
        # Unsubscribed since the confirmation email came: nothing will be sent, so a
        # "you are confirmed" would promise what we will not do. Say so, and where to change it.
        preferences = tokens.unsubscribe_token(lead_id=lead.pk, lead_uid=lead.uid)
        return render(
            request,
            "nurture/confirm_unsubscribed.html",
            {"email": lead.email, "token": preferences},
        )
    if request.method == "POST":
        scheduling.confirm_address(lead_id=lead.pk, ip_hash=hash_ip(client_ip(request) or ""))
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
