from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from api.models import IdempotencyKey


@shared_task(name="api.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
