from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyKey(models.Model):
    """A POST that created something, kept so that a retry with the same key gets the same answer.

    The unique (caller, key) row is inserted in the view's own transaction (see api.idempotency):
    a concurrent retry waits on the constraint and then replays, never creates a second object.
    Rows older than API_IDEMPOTENCY_HOURS are deleted by the `api.purge_idempotency_keys` task.
    """

    # "user:<id>", or "anonymous:<salted hash of the client IP>" for the public capture
    # endpoint's callers: two prospects never share a key space.
    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "key"], name="idempotency_key_unique_per_caller"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
