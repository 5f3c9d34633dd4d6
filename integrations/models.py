from django.conf import settings
from django.db import models
from django.db.models import Q

from nurture.models import Sequence


class LeadImport(models.Model):
    """One CSV file of leads on its way in: uploaded, mapped, dry-run, imported.

    The file's text is kept in the row (a 100,000-row file is about 10 MB, which
    PostgreSQL stores compressed out of line) so the web process and the workers need no
    shared disk, and it is cleared once the import ends: the leads hold the data then.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        MAPPED = "mapped", "Mapped"
        DRY_RUN = "dry_run", "Dry run done"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Dedupe(models.TextChoices):
        SKIP = "skip", "Skip leads that already exist"
        FILL_EMPTY = "fill_empty", "Update only their empty fields"
        OVERWRITE = "overwrite", "Overwrite their fields with the file's non-empty values"

    file_name = models.CharField(max_length=255)
    csv_text = models.TextField(blank=True, help_text="Cleared when the import ends.")
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    # The current (or last) run counts what would happen and writes no lead.
    is_dry_run = models.BooleanField(default=False)
    # CSV column header → lead field ("" or absent: ignored).
    mapping = models.JSONField(default=dict, blank=True)
    dedupe = models.CharField(max_length=10, choices=Dedupe.choices, default=Dedupe.FILL_EMPTY)
    sequence = models.ForeignKey(
        Sequence,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Enroll every imported lead in this sequence.",
    )
    consent_confirmed = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField("created", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    skipped_count = models.PositiveIntegerField("skipped", default=0)
    error_count = models.PositiveIntegerField("errors", default=0)
    # The first ROW_ERRORS_KEPT problems: [{"row": 7, "field": "email", "message": "…"}].
    row_errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "lead import"
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="leadimport_progress_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class AudienceExport(models.Model):
    """Who downloaded which hashed audience, and how many addresses it held."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.JSONField(default=dict, help_text="The filters, as chosen.")
    row_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Audience of {self.row_count} on {self.created_at:%Y-%m-%d %H:%M}"


class PrivacyRequest(models.Model):
    """The audit log of data-subject requests: who exported or erased which lead, and why.

    It names the lead by id and uid, never by email: the log must outlive an erasure.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    lead_id = models.BigIntegerField()
    lead_uid = models.UUIDField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("fulfil_privacy_request", "Can export or erase a lead's personal data"),
        ]
        indexes = [models.Index(fields=["lead_uid"], name="privacyrequest_lead_uid_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of lead {self.lead_uid}"
