"""The audit row of an audience download."""

from typing import Any

from django.contrib.auth.models import User

from integrations.models import AudienceExport


def record_audience_export(
    *, user: User, segment: dict[str, Any], row_count: int
) -> AudienceExport:
    return AudienceExport.objects.create(created_by=user, segment=segment, row_count=row_count)
