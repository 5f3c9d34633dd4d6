"""What every app's create-read-update-delete endpoints share: constraints answer 409, and
the OpenAPI description of a ModelViewSet's six actions.

The database has the last word on uniqueness (DESIGN.md: never check-then-insert), so a
write it refuses is a conflict the client can act on, not a 500.
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from api.errors import Conflict
from api.schema import error_responses

DUPLICATE = "This conflicts with another record (a duplicate?)."


def save_or_conflict(serializer: serializers.BaseSerializer[Any]) -> Any:
    """`serializer.save()` in a savepoint; an IntegrityError becomes a 409."""
    try:
        with transaction.atomic():
            return serializer.save()
    except IntegrityError as exc:
        raise Conflict(DUPLICATE) from exc


class ConstraintsDecide:
    """A write the database's constraints refuse answers 409, not 500."""

    # (A ModelViewSet mixin. Its docstring is the description of the endpoints of a view
    # set without one of its own, so it speaks to the API's reader.)

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        save_or_conflict(serializer)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        save_or_conflict(serializer)


def crud_schema(
    tag: str,
    serializer: type[serializers.Serializer[Any]],
    *,
    parameters: list[Any] | None = None,
    destroy: dict[int, Any] | None = None,
) -> Callable[[Any], Any]:
    """Tags and documented errors of a ModelViewSet's six actions. `parameters` are the
    list's query parameters; `destroy` replaces the delete's responses (default: 204, 404)."""
    return extend_schema_view(
        list=extend_schema(
            tags=[tag],
            parameters=parameters,
            responses={200: serializer(many=True), **error_responses(400, 404)},
        ),
        retrieve=extend_schema(tags=[tag], responses={200: serializer, **error_responses(404)}),
        create=extend_schema(tags=[tag], responses={201: serializer, **error_responses(400, 409)}),
        update=extend_schema(
            tags=[tag], responses={200: serializer, **error_responses(400, 404, 409)}
        ),
        partial_update=extend_schema(
            tags=[tag], responses={200: serializer, **error_responses(400, 404, 409)}
        ),
        destroy=extend_schema(tags=[tag], responses=destroy or {204: None, **error_responses(404)}),
    )
