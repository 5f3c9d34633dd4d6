"""OpenAPI descriptions shared by every app's endpoints: the JSON error body.

Every error the API answers has the shape api.errors writes; endpoints list the statuses
they can answer with `error_responses(400, 404, ...)` so the schema documents them.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

_DESCRIPTIONS = {
    400: "Invalid input: `fields` names each field at fault.",
    401: "No credentials, or a bad token.",
    403: "Signed in, but without the permission this needs.",
    404: "No such object (or, on a list, a `cursor` that is not one of ours).",
    409: "Conflicts with the current state (a duplicate, or already done).",
    422: "The Idempotency-Key was already used for a different request.",
    429: "Too many requests for this token; retry after the `Retry-After` seconds.",
}


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="For people.")
    # The stubs read this as Serializer.fields; DRF's metaclass takes declared fields off.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field name (nested fields as `items[0].email`).",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error statuses an endpoint answers, each described with the error body.

    401, 403 and 429 apply to every authenticated endpoint and are always included.
    """
    every = sorted({*statuses, 401, 403, 429})
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in every
    }


def idempotency_key(*, effect: str) -> OpenApiParameter:
    """The optional `Idempotency-Key` header of a create endpoint; `effect` says what a retry
    with the same key does ("creates one lead")."""
    return OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        description=f"Retrying with the same key {effect}.",
    )
