import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from capture.models import Campaign, Lead
from leadfunnel.outbound.safety import validate_webhook_url


def _default_weekly_hours() -> dict[str, list[list[str]]]:
    workday = [["09:00", "12:00"], ["13:00", "17:00"]]
    return {str(day): workday for day in range(5)}


class RepProfile(models.Model):
    """A sales rep's working hours, for booking, and place in the round-robin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile"
    )
    takes_leads = models.BooleanField(
        default=True, help_text="Included in the round-robin for new hot leads."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(
        default=_default_weekly_hours,
        help_text='Per weekday (0 = Monday): [["09:00", "12:00"], …] in the rep\'s time zone.',
    )
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    meeting_url = models.URLField(
        "meeting link",
        max_length=500,
        blank=True,
        # https only: the link goes into prospects' calendars and emails.
        validators=[URLValidator(schemes=["https"])],
        help_text="Where booked consultations take place (a video call link, https://…): "
        "the calendar invite's location.",
    )
    location = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where consultations take place when there is no meeting link "
        "(an address, or “Phone: we call you”).",
    )
    # Part of the signed calendar-feed URL: a new key ("reset link") invalidates every old URL.
    feed_key = models.UUIDField(default=uuid.uuid4, editable=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} (rep)"


class BlockedDate(models.Model):
    rep = models.ForeignKey(RepProfile, on_delete=models.CASCADE, related_name="blocked_dates")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["rep", "date"], name="blocked_date_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rep.user} off on {self.date}"


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="bookings")
    rep = models.ForeignKey(RepProfile, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The calendar event's identity: a reschedule's new booking keeps it and counts
    # `calendar_sequence` up (RFC 5545 UID and SEQUENCE), so calendars move the event
    # instead of adding a second one; a cancellation counts up too.
    calendar_uid = models.UUIDField(default=uuid.uuid4, editable=False)
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            # One booking per rep and slot: the database, not a check, makes double booking
            # impossible. A cancelled booking frees its slot.
            models.UniqueConstraint(
                fields=["rep", "starts_at"],
                condition=Q(status="booked"),
                name="booking_one_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead} with {self.rep.user} at {self.starts_at:%Y-%m-%d %H:%M}"


class Note(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"

    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left a voicemail"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        MEETING_SET = "meeting_set", "Meeting set"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    # Calls only; calls logged before outcomes existed have none.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="note_lead_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="call") | Q(outcome=""), name="note_outcome_only_on_calls"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead}"


class LeadChange(models.Model):
    """Who moved a lead's stage or owner, when, and why: the timeline's audit trail."""

    class Field(models.TextChoices):
        STAGE = "stage", "Stage"
        OWNER = "owner", "Owner"
        SEQUENCE = "sequence", "Sequence"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    field = models.CharField(max_length=10, choices=Field.choices)
    old_value = models.CharField(max_length=150, blank=True)
    new_value = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["lead", "-at"], name="leadchange_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead} {self.field}: {self.old_value} → {self.new_value}"


class Handoff(models.Model):
    """One hot episode of a lead: who got it, when they were told, when they first called."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    turned_hot_at = models.DateTimeField()
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-turned_hot_at"]
        constraints = [
            # One open episode per lead: a storm of rescoring cannot notify twice.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(ended_at__isnull=True), name="handoff_one_open"
            ),
        ]
        indexes = [
            # "New hot leads since you looked" and the reps' speed over recent episodes.
            models.Index(fields=["-turned_hot_at"], name="handoff_turned_hot_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} hot at {self.turned_hot_at:%Y-%m-%d %H:%M}"


class SalesSettings(models.Model):
    """One row: how hot leads are handed to reps."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    round_robin = models.BooleanField(
        default=True, help_text="Give unowned hot leads to active reps in turn."
    )
    webhook_url = models.URLField(
        blank=True,
        validators=[validate_webhook_url],  # the SSRF guard, as for outbound webhooks
        help_text="Slack-compatible incoming webhook, told of every hot lead.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "sales settings"

    def __str__(self) -> str:
        return "Sales settings"

    @classmethod
    def load(cls) -> "SalesSettings":
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class Task(models.Model):
    """A follow-up a rep owes a lead, due at a time: made by hand, by a journey's node, or
    by a hand-off ("call within 5 minutes")."""

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        JOURNEY = "journey", "Journey"
        HANDOFF = "handoff", "Hand-off"

    class Outcome(models.TextChoices):
        # "Done" for any task; the rest are a call's outcomes (Note.Outcome), for which
        # completing the task logs the call too.
        DONE = "done", "Done"
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left a voicemail"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        MEETING_SET = "meeting_set", "Meeting set"
        # Not a rep's choice: a hand-off's call task the lead's booking, win or loss made
        # moot (sales.services.leads.close_handoff_tasks_locked). No call, so no speed.
        CLOSED_BY_STAGE = "closed_by_stage", "Closed: the lead was booked, won or lost"

    # What a rep may say of a task they complete.
    REP_OUTCOMES = [choice for choice in Outcome.choices if choice[0] != "closed_by_stage"]

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_tasks"
    )
    title = models.CharField(max_length=200)
    note = models.TextField(max_length=2000, blank=True)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    # Free for whoever made the task (the journey engine: its enrollment and node), never
    # parsed here.
    source_ref = models.CharField(max_length=200, blank=True)
    # The hot episode whose "call within 5 minutes" this is: speed-to-lead reads it.
    handoff = models.ForeignKey(
        Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    # How it ended; tasks completed before outcomes existed have none.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "pk"]
        permissions = [("complete_any_task", "Can complete another rep's task")]
        constraints = [
            models.CheckConstraint(
                condition=Q(completed_by__isnull=True) | Q(completed_at__isnull=False),
                name="task_completed_by_when_completed",
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(completed_at__isnull=False),
                name="task_outcome_when_completed",
            ),
            # One "call within 5 minutes" per hot episode, however often it is handed off.
            models.UniqueConstraint(
                fields=["handoff"],
                condition=Q(source="handoff"),
                name="task_one_call_per_handoff",
            ),
        ]
        indexes = [
            # "My open tasks due by the end of today": only open rows, read in due order.
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(completed_at__isnull=True),
                name="task_open_owner_due_idx",
            ),
            models.Index(fields=["lead", "-created_at"], name="task_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.lead})"


class SavedView(models.Model):
    """A dashboard filter a rep saved under a name: theirs alone, or shared with the team."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    # The dashboard's query string (its filter form's fields only), checked by that form.
    query = models.CharField(max_length=1000)
    shared = models.BooleanField(default=False, help_text="Shown to every rep.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_per_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class FunnelFact(models.Model):
    """What the funnel metrics count about one lead, kept as the lead moves
    (`sales.services.funnel`): the metrics page reads this narrow table (and its hourly
    rollup) instead of re-running six per-lead subqueries over a cohort of a million leads.
    Every value is the recount `sales.services.funnel.fact_values` makes from the source
    tables; `rebuild_funnel_facts` puts them right after a bulk load that bypassed the
    services."""

    lead = models.OneToOneField(
        Lead, primary_key=True, on_delete=models.CASCADE, related_name="funnel_fact"
    )
    created_at = models.DateTimeField()
    # The dimensions the metrics page groups by: first-touch campaign and source, and the
    # utm_medium of the lead's first submission (null: it never submitted a form).
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    medium = models.CharField(max_length=100, null=True, blank=True)
    nurtured = models.BooleanField(default=False)
    quality = models.BooleanField(default=False, help_text="Ever warm or hot, or warm/hot now.")
    hot = models.BooleanField(default=False, help_text="Ever hot, or hot now.")
    booked = models.BooleanField(default=False)
    won = models.BooleanField(default=False)
    first_email_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="funnelfact_created_idx"),
            # The medians read only the leads that have the interval.
            models.Index(
                fields=["created_at", "first_email_at"],
                name="funnelfact_email_idx",
                condition=Q(first_email_at__isnull=False),
            ),
            models.Index(
                fields=["created_at", "first_contact_at"],
                name="funnelfact_contact_idx",
                condition=Q(first_contact_at__isnull=False),
            ),
            # The sweep's "enrolled, Day-1 email not sent yet" (no signal says it went).
            models.Index(
                fields=["created_at"],
                name="funnelfact_email_due_idx",
                condition=Q(nurtured=True, first_email_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"funnel facts of lead {self.lead_id}"


class FunnelHour(models.Model):
    """FunnelFact summed per UTC hour and dimension. Written only by PostgreSQL triggers on
    sales_funnelfact (migration 0011), in the same transaction as the facts, so it cannot
    drift from them whatever writes the facts (a refresh, a rebuild, a lead's cascade
    delete). A viewer's local day is a whole number of these hours in every zone with a
    whole-hour offset; other zones, and SQLite, read the facts."""

    hour = models.DateTimeField()
    campaign_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True)
    medium = models.CharField(max_length=100, null=True, blank=True)
    leads = models.IntegerField(default=0)
    nurtured = models.IntegerField(default=0)
    quality = models.IntegerField(default=0)
    hot = models.IntegerField(default=0)
    booked = models.IntegerField(default=0)
    won = models.IntegerField(default=0)

    # Its unique index on (hour, campaign_id, source, medium) NULLS NOT DISTINCT, the
    # triggers' ON CONFLICT target, is made with the triggers (PostgreSQL only).

    def __str__(self) -> str:
        return f"{self.leads} leads in the hour of {self.hour:%Y-%m-%d %H:00}"


class FunnelRecount(models.Model):
    """A lead whose FunnelFact needs a recount. PostgreSQL triggers on the tables the facts
    come from (leads, submissions, score changes, enrollments, deliveries, bookings, calls,
    stage changes) add the lead in the writing transaction, whichever app, bulk loader or
    admin action wrote, so no movement goes unseen (the Day-1 email's send has no signal at
    all). `sales.services.funnel.recount_pending` empties it: every minute, and before the
    metrics are read. No foreign key: a deleted lead's row is simply dropped."""

    lead_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"lead {self.lead_id} to recount"
