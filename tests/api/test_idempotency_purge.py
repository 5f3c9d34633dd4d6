"""Idempotency keys are kept API_IDEMPOTENCY_HOURS, then beat's hourly task deletes them."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from api.models import IdempotencyKey
from api.tasks import purge_idempotency_keys

pytestmark = pytest.mark.django_db


def test_it_deletes_keys_older_than_the_setting_and_keeps_the_rest(settings: Any) -> None:
    settings.API_IDEMPOTENCY_HOURS = 24
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=25)):
        IdempotencyKey.objects.create(
            caller="user:1", key="old", method="POST", path="/x", fingerprint="0" * 64
        )
    with time_machine.travel(now - timedelta(hours=23)):
        IdempotencyKey.objects.create(
            caller="user:1", key="recent", method="POST", path="/x", fingerprint="0" * 64
        )
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


def test_beat_runs_it_every_hour() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["api-purge-idempotency-keys"]
    assert entry == {"task": "api.purge_idempotency_keys", "schedule": 3600.0}
