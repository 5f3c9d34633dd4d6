"""Serializers that only describe answers in the OpenAPI schema (api/errors.py's shape)."""

from typing import Any

from rest_framework import serializers


class IngestErrorDetail(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable: invalid, throttled, not_found, …")
    message = serializers.CharField(help_text="For people.")
    # The stubs read this as Serializer.fields; DRF's metaclass takes declared fields off.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Validation errors per field, e.g. {"events[3].url": ["Enter a valid URL."]}.',
    )


class IngestError(serializers.Serializer[Any]):
    error = IngestErrorDetail()
