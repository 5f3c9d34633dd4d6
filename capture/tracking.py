"""Signed tracking tokens: what the `lf_id` cookie holds to tie page views to one lead.

A token names one lead by its public uid (never the numeric id) and is signed with the
project's SECRET_KEY under a salt of its own, so no token made for an email link, a booking or
another purpose is accepted here, and nobody can edit a token into another lead's.

It is valid for two years: the cookie lives as long (a B2B buying cycle often runs many
months, and a prospect who comes back to the pricing page after a year is exactly the signal
the scoring wants). What a stolen token allows is small: appending page views to that one lead
through the collection endpoint; it reads nothing.
"""

import uuid
from datetime import timedelta

from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from capture.models import Lead

COOKIE_NAME = "lf_id"
MAX_AGE = timedelta(days=730)
_SALT = "capture.tracking"


def tracking_token(lead_uid: uuid.UUID | str) -> str:
    return signing.dumps(str(lead_uid), salt=_SALT)


def lead_uid_for_tracking_token(token: str) -> uuid.UUID | None:
    """The lead uid a token names, or None when it is forged, altered, expired or malformed."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        return uuid.UUID(str(signing.loads(token, salt=_SALT, max_age=MAX_AGE)))
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None


def lead_for_tracking_token(token: str) -> Lead | None:
    uid = lead_uid_for_tracking_token(token)
    return None if uid is None else Lead.objects.filter(uid=uid).first()


def set_tracking_cookie(response: HttpResponseBase, *, request: HttpRequest, lead: Lead) -> None:
    """Identify this browser as `lead` on leadfunnel's own pages (read there by track.js).

    Not HttpOnly on purpose: track.js reads it to put the token in its beacons, which carry no
    cookies (the endpoint is cross-site for company sites, and beacons there go credential-free).
    Lax: it is first-party only; Secure whenever the page itself came over HTTPS.
    """
    response.set_cookie(
        COOKIE_NAME,
        tracking_token(lead.uid),
        max_age=int(MAX_AGE.total_seconds()),
        secure=request.is_secure(),
        httponly=False,
        samesite="Lax",
    )
