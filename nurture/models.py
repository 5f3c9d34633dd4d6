from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from capture.models import LandingPage, Lead


def _default_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


# The topic every journey and day list belongs to unless a marketer picks another; seeded by
# migration 0012 and kept by slug, so a renamed topic stays the default.
DEFAULT_TOPIC_SLUG = "consultation-follow-up"
DEFAULT_TOPIC_NAME = "Consultation follow-up"


class SubscriptionTopic(models.Model):
    """What a marketing email is about, which a lead may leave on its own (the preference page).

    A topic that needs an opt-in (a newsletter) mails only leads who ticked its box on a form
    or on the preference page; one that does not (the follow-up of the prospect's own
    request) mails every lead who has not left it. Transactional emails belong to no topic.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(
        blank=True,
        help_text="One or two sentences on the preference page: what it sends, how often.",
    )
    consent_text = models.TextField(
        blank=True,
        help_text="The checkbox's words on a form asking for this topic; kept with each opt-in.",
    )
    requires_opt_in = models.BooleanField(
        "needs an opt-in",
        default=False,
        help_text="Only leads who ticked this topic's box get its emails.",
    )
    landing_pages = models.ManyToManyField(
        LandingPage,
        blank=True,
        related_name="topics",
        help_text="Forms that ask for this topic with a checkbox (unticked).",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the pages.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def form_label(self) -> str:
        """The checkbox's words on a form, as shown: kept with each opt-in made there."""
        return self.consent_text or f"Email me about {self.name}"

    @property
    def preference_label(self) -> str:
        """What the preference page shows for the topic: kept with an opt-in made there."""
        return f"{self.name}: {self.description}" if self.description else self.name


def default_topic_id() -> int:
    # Only the id is read (migration 0012 calls this, when later columns do not exist yet).
    # A database flushed by a test, or emptied by hand, gets the topic back when a sequence
    # first needs it, instead of an IntegrityError.
    found = SubscriptionTopic.objects.filter(slug=DEFAULT_TOPIC_SLUG).values_list("pk", flat=True)
    pk = found.first()
    if pk is None:
        pk = SubscriptionTopic.objects.get_or_create(
            slug=DEFAULT_TOPIC_SLUG, defaults={"name": DEFAULT_TOPIC_NAME}
        )[0].pk
    return pk


class Sequence(models.Model):
    """A journey: entry triggers and a graph of nodes (kind "journey"), or, for the first
    version's sequences, a list of day-offset steps (kind "days")."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Kind(models.TextChoices):
        DAYS = "days", "Day list"
        JOURNEY = "journey", "Journey"

    class Reentry(models.TextChoices):
        ONCE = "once", "Once ever"
        EVERY_N_DAYS = "every_n_days", "Again after N days"
        ALWAYS = "always", "Every time the trigger fires"

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DAYS)
    start_node = models.ForeignKey(
        "Node", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reentry = models.CharField(
        "re-entry", max_length=20, choices=Reentry.choices, default=Reentry.ONCE
    )
    reentry_days = models.PositiveSmallIntegerField(
        "re-entry after days", default=30, help_text='For "again after N days".'
    )
    entry_pages = models.ManyToManyField(
        LandingPage,
        blank=True,
        related_name="sequences",
        help_text="A lead captured on one of these pages is enrolled.",
    )
    window_start_hour = models.PositiveSmallIntegerField(
        "earliest local hour", default=9, help_text="In the lead's time zone, 0–23."
    )
    window_end_hour = models.PositiveSmallIntegerField(
        "latest local hour", default=17, help_text="Emails go out before this hour, 1–24."
    )
    weekdays = models.JSONField(
        default=_default_weekdays, help_text="Days emails may go out (0 = Monday)."
    )
    fallback_time_zone = models.CharField(
        max_length=64, default="UTC", help_text="For leads whose time zone is unknown."
    )
    # On unless the marketer turns it off: a lead sales has must get no more drip email.
    # Off is for journeys meant for leads sales already works (onboarding after a win, say).
    hand_hot_leads_to_sales = models.BooleanField(
        "hand leads to sales",
        default=True,
        help_text="Stop mailing a lead the moment sales has it (hot, owned by a rep, or in a "
        "sales stage); only a transactional email such as the Day-1 confirmation still goes.",
    )
    track_engagement = models.BooleanField(
        "track opens and clicks", default=True, help_text="Open pixel and tracked links."
    )
    topic = models.ForeignKey(
        SubscriptionTopic,
        on_delete=models.PROTECT,
        default=default_topic_id,
        related_name="sequences",
        help_text="What its marketing emails are about: a lead who left this topic gets none.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start_hour__lt=models.F("window_end_hour"))
                & Q(window_end_hour__lte=24),
                name="sequence_window_valid",
            ),
            models.CheckConstraint(condition=Q(reentry_days__gte=1), name="sequence_reentry_days"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.weekdays or not set(self.weekdays) <= set(range(7)):
            raise ValidationError({"weekdays": "Choose at least one day of the week."})
        if self.window_start_hour >= self.window_end_hour or self.window_end_hour > 24:
            raise ValidationError(
                {"window_end_hour": "The latest hour must come after the earliest (1–24)."}
            )


class JourneyManager(models.Manager["Journey"]):
    def get_queryset(self) -> models.QuerySet["Journey"]:
        return super().get_queryset().filter(kind=Sequence.Kind.JOURNEY)


class Journey(Sequence):
    """The journeys (kind "journey") of the Sequence table, as the admin and API show them."""

    objects: ClassVar[JourneyManager] = JourneyManager()

    class Meta:
        proxy = True
        verbose_name = "journey"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = Sequence.Kind.JOURNEY
        super().save(*args, **kwargs)


class Step(models.Model):
    class ClickCondition(models.TextChoices):
        ANY = "", "Always"
        CLICKED = "clicked", "Only if the previous email was clicked"
        NOT_CLICKED = "not_clicked", "Only if the previous email was not clicked"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    # A day list's step has its day; a journey's email node has none (its place is the graph).
    day = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Day 1 goes out at once; day 2 a day after enrollment, and so on.",
    )
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField(
        help_text="Markdown. Merge fields: {{ first_name }}, {{ company }}, {{ booking_url }}…"
    )
    cta_label = models.CharField("button label", max_length=60, blank=True)
    cta_url = models.CharField(
        "button link", max_length=500, blank=True, help_text="A URL or a merge field."
    )
    only_temperatures = models.JSONField(
        default=list, blank=True, help_text="Send only to leads this warm; none means all."
    )
    click_condition = models.CharField(
        max_length=20, choices=ClickCondition.choices, blank=True, default=""
    )
    is_active = models.BooleanField(default=True)
    # The answer to the prospect's own request (a day list's Day 1, a journey's confirmation):
    # exempt from the frequency cap, and still sent after a hand-off to sales.
    transactional = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sequence", "day", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "day"], name="step_one_per_day"),
            models.CheckConstraint(condition=Q(day__gte=1), name="step_day_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.subject}"

    @property
    def label(self) -> str:
        """ "Day 3" in a day list; the node's name in a journey."""
        if self.day is not None:
            return f"Day {self.day}"
        node = getattr(self, "node", None)
        return node.name if node is not None and node.name else "Email"


class Enrollment(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        EXITED = "exited", "Exited"

    class ExitReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SUPPRESSED = "suppressed", "Bounced or complained"
        BOOKED = "booked", "Goal reached: booked"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        HANDED_TO_SALES = "handed_to_sales", "Handed to sales"
        MANUAL = "manual", "Stopped by a person"
        UNCONFIRMED = "unconfirmed", "Never confirmed (double opt-in)"
        CONVERTED = "converted", "Goal reached"

    # No index of their own: the unique (lead, sequence, round) and (sequence, state) indexes
    # lead with these columns, and every index is one more write per move of the tick.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    exit_reason = models.CharField(max_length=20, choices=ExitReason.choices, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Double opt-in: only the first email goes out until the prospect confirms.
    needs_confirmation = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # A journey's enrollment: where the lead is, since when, and when the tick next looks.
    current_node = models.ForeignKey(
        "Node",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # enrollment_node_idx leads with it
    )
    node_entered_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)
    # Re-entry: the lead's n-th time through this journey.
    round = models.PositiveSmallIntegerField(default=1, db_default=1)
    converted_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(
        max_length=200, blank=True, default="", db_default="", help_text="What started it."
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A lead goes through one journey once per round (a day list has only round 1).
            models.UniqueConstraint(
                fields=["lead", "sequence", "round"], name="enrollment_once_per_round"
            ),
            # ... and is in it at most once at a time.
            models.UniqueConstraint(
                fields=["lead", "sequence"],
                condition=Q(state__in=["active", "paused"]),
                name="enrollment_one_live",
            ),
        ]
        indexes = [
            models.Index(fields=["sequence", "state"], name="enrollment_state_idx"),
            # The journey tick reads only enrollments that are due, however many wait.
            models.Index(
                fields=["next_at"],
                name="enrollment_due_idx",
                condition=Q(state="active", next_at__isnull=False),
            ),
            models.Index(
                fields=["current_node", "state"],
                name="enrollment_node_idx",
                condition=Q(current_node__isnull=False),
            ),
            # The tick's double opt-in expiry reads only the few still waiting.
            models.Index(
                fields=["started_at"],
                name="enrollment_unconfirmed_idx",
                condition=Q(state="active", needs_confirmation=True, confirmed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead} in {self.sequence}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    # Indexed by delivery_once_per_step (enrollment, step).
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="deliveries")
    # A journey's email node (the step is its content); none for a day list's step.
    node = models.ForeignKey(
        "Node", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # No lead gets the same step twice.
            models.UniqueConstraint(fields=["enrollment", "step"], name="delivery_once_per_step"),
        ]
        indexes = [
            # "Due now" reads only scheduled rows, however many sent ones pile up.
            models.Index(
                fields=["due_at"], name="delivery_due_idx", condition=Q(status="scheduled")
            ),
            # Lease reclaim reads only rows in flight.
            models.Index(
                fields=["status_changed_at"],
                name="delivery_in_flight_idx",
                condition=Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} to {self.enrollment.lead_id}"


class Node(models.Model):
    """One box on a journey's map; `config` holds what its kind needs (see nodes/)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WAIT = "wait", "Wait"
        WAIT_UNTIL = "wait_until", "Wait until"
        BRANCH = "branch", "Branch"
        SPLIT = "split", "Split test"
        SMS = "sms", "SMS"
        TASK = "task", "Task for sales"
        NOTIFY = "notify", "Notify"
        UPDATE = "update", "Update lead"
        GOAL = "goal", "Goal"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="nodes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # An email node's content: subject, body, button (the same fields as a day list's step).
    step = models.OneToOneField(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="node"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sequence", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="email", step__isnull=False) | ~Q(kind="email"),
                name="node_email_has_step",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.get_kind_display()


class Edge(models.Model):
    """An arrow: from `source`'s `port` ("next", "yes", "timeout", "c0", "v1", "else") on."""

    source = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="edges")
    port = models.CharField(max_length=20, default="next")
    target = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="incoming")

    class Meta:
        ordering = ["source", "port"]
        constraints = [
            models.UniqueConstraint(fields=["source", "port"], name="edge_one_per_port"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="edge_no_self"),
        ]

    def __str__(self) -> str:
        return f"{self.source} —{self.port}→ {self.target}"


class Trigger(models.Model):
    """What puts a lead into a journey. Evaluated from the apps' signals, never by polling."""

    class Kind(models.TextChoices):
        FORM = "form", "Landing-page submission"
        PAGE_VIEW = "page_view", "Page view"
        LINK_CLICK = "link_click", "Clicked a link"
        CUSTOM_EVENT = "custom_event", "Custom event"
        BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"
        EMAIL_BOUNCED = "email_bounced", "Email bounced"
        SCORE = "score", "Score reached"
        TEMPERATURE = "temperature", "Temperature reached"
        STAGE = "stage", "Stage changed to"
        SEGMENT = "segment", "Joined a segment"
        MANUAL = "manual", "Manual or API enrollment"
        IMPORT = "import", "CSV import"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # FORM: {"page": id}; PAGE_VIEW: {"url": pattern, "count": n, "within_days": d};
    # LINK_CLICK: {"url": pattern}; CUSTOM_EVENT: {"name": event}; SCORE: {"at_least": n};
    # TEMPERATURE: {"temperature": "hot"}; STAGE: {"stage": s}; SEGMENT: {"segment": id}.
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sequence", "pk"]
        indexes = [models.Index(fields=["kind"], name="trigger_kind_idx")]

    def __str__(self) -> str:
        return self.get_kind_display()


class PathStep(models.Model):
    """A lead's arrival at one node of a journey: when, and why it came this way.

    Written once, when the lead enters the node ("branch: clicked Day 2 → yes" is the `via`
    of the node that branch led to), so the tick only ever inserts path rows.
    """

    # Indexed by path_once_per_node (enrollment, node) and path_node_idx (node, entered_at).
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="path", db_index=False
    )
    node = models.ForeignKey(
        Node,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="path_steps",
        db_index=False,
    )
    # Kept when a marketer deletes the node: the lead's history stays readable.
    node_name = models.CharField(max_length=100)
    node_kind = models.CharField(max_length=20, choices=Node.Kind.choices)
    entered_at = models.DateTimeField()
    via = models.CharField(max_length=300, blank=True)
    # What a node with an effect outside the database did (an SMS sent or refused, ...).
    result = models.CharField(max_length=300, blank=True)
    # That effect's progress: "" none, "pending", "running", "done". The effect task claims
    # pending → running in one conditional UPDATE, so it runs at most once.
    effect = models.CharField(max_length=10, blank=True)
    effect_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["enrollment", "entered_at", "pk"]
        constraints = [
            # Each node runs at most once per enrollment.
            models.UniqueConstraint(fields=["enrollment", "node"], name="path_once_per_node"),
        ]
        indexes = [models.Index(fields=["node", "entered_at"], name="path_node_idx")]

    def __str__(self) -> str:
        return f"{self.node_name} ({self.via})" if self.via else self.node_name


class Suppression(models.Model):
    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        MANUAL = "manual", "Added by hand"

    email = models.EmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"


class SmsSuppression(models.Model):
    """A number that must not be texted: its owner replied STOP (or a marketer added it).

    Kept by number, not by lead: STOP comes from a phone, and stays in force for whichever
    lead later gives that number. START deletes the row.
    """

    class Reason(models.TextChoices):
        STOPPED = "stopped", "Replied STOP"
        CARRIER = "carrier", "Refused by Twilio (unsubscribed recipient)"
        MANUAL = "manual", "Added by hand"

    phone = PhoneNumberField(unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    keyword = models.CharField(max_length=20, blank=True, help_text="What the person replied.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone} ({self.get_reason_display()})"


class SmsMessage(models.Model):
    """One text to a lead: sent (with Twilio's SID and its later status) or refused, and why."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        REFUSED = "refused", "Refused"
        # Twilio's own statuses, as its API and status callbacks name them.
        QUEUED = "queued", "Queued at Twilio"
        ACCEPTED = "accepted", "Accepted"
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"

    class Refusal(models.TextChoices):
        NOT_CONFIGURED = "not_configured", "Twilio is not configured"
        INVALID_NUMBER = "invalid_number", "No valid phone number"
        NO_CONSENT = "no_consent", "No SMS consent"
        SUPPRESSED = "suppressed", "Number replied STOP"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="sms_messages")
    to_number = models.CharField(max_length=40, blank=True, help_text="E.164, as sent.")
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices)
    refusal = models.CharField(max_length=20, choices=Refusal.choices, blank=True)
    twilio_sid = models.CharField("Twilio SID", max_length=64, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="sms_lead_time_idx")]

    def __str__(self) -> str:
        return f"SMS to {self.lead_id} ({self.status})"


class TopicSubscription(models.Model):
    """A lead's own choice about one topic; no row means the topic's default (see
    SubscriptionTopic.requires_opt_in). Every change is also a ConsentRecord."""

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    # Indexed by topic_subscription_once (lead, topic).
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="topic_subscriptions", db_index=False
    )
    topic = models.ForeignKey(
        SubscriptionTopic, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["lead", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "topic"], name="topic_subscription_once"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.status} {self.topic}"


class ConsentRecord(models.Model):
    """One change of a lead's consent, as it happened: written once, never edited.

    `topic` empty means every email (a global unsubscribe, or opting back in after one).
    """

    class Action(models.TextChoices):
        SUBSCRIBE = "subscribe", "Subscribed"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        # Double opt-in: the lead proved the address is theirs (the proof of the opt-in,
        # kept whatever becomes of the enrollments that waited for it).
        CONFIRM = "confirm", "Confirmed the address"

    class Source(models.TextChoices):
        FORM = "form", "Form"
        PREFERENCES = "preferences", "Preference page"
        ONE_CLICK = "one_click", "One-click unsubscribe"
        ADMIN = "admin", "Admin"
        API = "api", "API"
        IMPORT = "import", "Import"
        CONFIRM_LINK = "confirm_link", "Confirmation link"

    # Indexed by consent_lead_time_idx (lead, recorded_at).
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="consent_records", db_index=False
    )
    # PROTECT: a topic with consent history is kept, so the log never loses what it was about.
    topic = models.ForeignKey(
        SubscriptionTopic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    # The words the lead agreed to (an opt-in's checkbox text), as shown at the time.
    consent_text = models.TextField(blank=True)
    detail = models.CharField(max_length=300, blank=True)
    ip_hash = models.CharField("IP hash", max_length=64, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [
            models.Index(fields=["lead", "-recorded_at"], name="consent_lead_time_idx"),
        ]

    def __str__(self) -> str:
        about = self.topic.name if self.topic is not None else "all emails"
        return f"{self.get_action_display()} {about} ({self.get_source_display()})"
