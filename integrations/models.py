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


class AudienceSync(models.Model):
    """A segment kept in step with an ad platform's audience: Meta Custom Audiences or
    Google Ads Customer Match (integrations.services.ad_sync)."""

    class Platform(models.TextChoices):
        META = "meta", "Meta Custom Audiences"
        GOOGLE = "google", "Google Ads Customer Match"

    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.CASCADE, related_name="audience_syncs"
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    audience_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The platform's audience (Meta) or user list (Google) id; leave empty to "
        "have the first sync create one named after the segment.",
    )
    enabled = models.BooleanField(default=True, help_text="Synced on the schedule.")
    consented_only = models.BooleanField(
        default=True, help_text="Only leads who gave marketing consent on a form."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["segment__name", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "platform"], name="audience_sync_once"),
        ]

    def __str__(self) -> str:
        return f"{self.segment} → {self.get_platform_display()}"


class AudienceMember(models.Model):
    """A lead as this sync last uploaded it: the hashes the platform holds, so a lead who
    leaves the segment (or is erased, or changes address) is removed by the same hashes."""

    sync = models.ForeignKey(AudienceSync, on_delete=models.CASCADE, related_name="members")
    # Not a foreign key: an erased lead's row must outlive the lead until its removal is sent.
    lead_id = models.BigIntegerField()
    email_hash = models.CharField(max_length=64)
    phone_hash = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sync", "lead_id"], name="audience_member_once"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} on {self.sync}"


class AudienceSyncRun(models.Model):
    """The sync log: one row per run, shown in the admin."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    sync = models.ForeignKey(AudienceSync, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, default="schedule")  # schedule / manual
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.sync} at {self.started_at:%Y-%m-%d %H:%M}: {self.get_status_display()}"
