"""Every API error is JSON: a machine code, a human message, and the fields at fault.

{"error": {"code": "invalid", "message": "email: Enter a valid email address.",
           "fields": {"email": ["Enter a valid email address."]}}}
"""

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"  # leadfunnel.urls mounts the API here: every answer under it is JSON


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is over the server's size limit."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = {"error": error_body(exc)}
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's handler404: under /api/ the API's JSON error, elsewhere Django's page.

    A URL that matches no pattern never reaches DRF, so its exception handler cannot answer:
    `/api/v1/campaigns/null%2Cnull/` fails the `<int:pk>` converter and used to get Django's
    HTML page. Every 404 under /api/, routed or not, has the one JSON shape.
    """
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"error": error_body(exceptions.NotFound())}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """The project's handler500: an integrator's client parses JSON, even from a crash."""
    if request.path_info.startswith(API_PREFIX):
        body = {
            "code": "server_error",
            "message": "Something went wrong on our side; it was logged.",
        }
        return JsonResponse({"error": body}, status=500)
    return defaults.server_error(request)


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    codes = exc.get_codes()
    if isinstance(exc.detail, dict | list):
        fields = _flatten(exc.detail)
        message = "; ".join(
            f"{name}: {' '.join(errors)}" if name != "non_field_errors" else " ".join(errors)
            for name, errors in fields.items()
        )
        return {"code": "invalid", "message": message or "Invalid input.", "fields": fields}
    return {"code": codes if isinstance(codes, str) else "error", "message": str(exc.detail)}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """`{"items": [{"email": [...]}]}` → `{"items[0].email": [...]}`: each field named once."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for name, value in detail.items():
            if isinstance(name, int) or str(name).isdigit():  # a list's errors, by index
                key = f"{prefix}[{name}]"
            else:
                key = f"{prefix}.{name}" if prefix else str(name)
            flat.update(_flatten(value, key))
        return flat
    if isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        return {prefix or "non_field_errors": [str(item) for item in detail]}
    if isinstance(detail, list):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}[{index}]"))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}
