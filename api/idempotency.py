"""`Idempotency-Key` on POSTs that create: a retried request creates one object.

The key row is inserted in the same transaction as the view's writes. A concurrent retry
waits on the unique index until the first commits, then replays its stored answer; if the
first failed, nothing of it (key included) was committed and the retry runs afresh.
"""

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

# What django-ratelimit's key="ip" counts by (capture.views.capture_rate_limited).
from django_ratelimit.core import _get_ip as client_ip
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_CALLER_SALT = "api.idempotency.caller"

Handler = Callable[..., Response]


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_key_reused"


def idempotent(handler: Handler) -> Handler:
    """Decorate a DRF view's `post`/`create`: replays the first answer to a repeated key."""

    @wraps(handler)
    def wrapped(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError(
                {HEADER: [f"Use at most {MAX_KEY_LENGTH} characters."]}
            )
        caller = _caller(request)
        fingerprint = hashlib.sha256(
            (request.method or "").encode() + b" " + request.path.encode() + b"\n" + request.body
        ).hexdigest()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        caller=caller,
                        key=key,
                        method=request.method or "",
                        path=request.path[:2000],
                        fingerprint=fingerprint,
                    )
            except IntegrityError:
                return _replay(caller=caller, key=key, fingerprint=fingerprint)
            response = handler(view, request, *args, **kwargs)
            if not status.is_success(response.status_code):
                transaction.set_rollback(True)  # a failed attempt leaves no key behind
                return response
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
            return response

    return wrapped


def _caller(request: Request) -> str:
    """Whose key space a key lives in: a user's own, or an anonymous client's address.

    Anonymous callers (the public capture endpoint) are told apart by the client IP the
    capture rate limit counts by (RATELIMIT_IP_META_KEY, masked as it masks it): one shared
    space would let prospect B's "order-1001" collide with prospect A's and be refused. The
    address is kept only as a keyed hash, as submissions keep theirs.
    """
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    try:
        address = str(client_ip(request._request))
    except (ImproperlyConfigured, ValueError):  # the header the setting names is missing
        address = request.META.get("REMOTE_ADDR", "")
    return "anonymous:" + salted_hmac(_CALLER_SALT, address, algorithm="sha256").hexdigest()[:40]


def _replay(*, caller: str, key: str, fingerprint: str) -> Response:
    record = IdempotencyKey.objects.get(caller=caller, key=key)
    if record.fingerprint != fingerprint:
        raise KeyReused()
    return Response(
        record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
    )
