import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from capture.origins import embed_origins_in, validate_embed_origins
from capture.validators import validate_hex_color, validate_http_url, validate_image_upload

# A privacy erase replaces a lead's address with `erased-<uid>@` this reserved domain.
ERASED_EMAIL_DOMAIN = "erased.invalid"
# The box a form shows beside a phone field; stored word for word with the consent's time.
SMS_CONSENT_TEXT = "Text me about my request"


class Campaign(models.Model):
    class Channel(models.TextChoices):
        PAID_SEARCH = "paid_search", "Paid search"
        PAID_SOCIAL = "paid_social", "Paid social"
        SEO = "seo", "SEO"
        REFERRAL = "referral", "Referral"
        EMAIL = "email", "Email"
        EVENT = "event", "Event"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    utm_campaign = models.SlugField(
        "utm_campaign key",
        max_length=100,
        unique=True,
        help_text="Submissions whose utm_campaign equals this key are attributed to it.",
    )
    spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The messages are what the admin and the API show a marketer.
            models.CheckConstraint(
                condition=models.Q(spend__gte=0),
                name="campaign_spend_gte_0",
                violation_error_message="Spend can't be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message="The campaign can't end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _image_name(instance: models.Model, filename: str) -> str:
    """A fresh name per upload: the marketer's file name is never part of a URL or path."""
    folder = "brand" if isinstance(instance, Brand) else "landing"
    return f"capture/{folder}/{uuid.uuid4().hex}"


class Brand(models.Model):
    """A logo and colours shared by the pages that name it; the default one by all others."""

    name = models.CharField(max_length=100)
    logo = models.FileField(
        upload_to=_image_name,
        blank=True,
        validators=[validate_image_upload],
        help_text="PNG, JPEG, GIF or WebP, up to 2 MB. Shown above the headline.",
    )
    primary_color = models.CharField(
        "button colour",
        max_length=7,
        default="#0b5ed7",
        validators=[validate_hex_color],
        help_text="#rrggbb. The button's text turns white or black, whichever reads better.",
    )
    background_color = models.CharField(
        "background colour", max_length=7, default="#f8f9fa", validators=[validate_hex_color]
    )
    is_default = models.BooleanField(
        "site-wide default",
        default=False,
        help_text="Used by every page that names no brand of its own.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="brand_one_default",
                violation_error_message="Another brand is already the site-wide default.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class LandingPage(models.Model):
    class Kind(models.TextChoices):
        """What the page is for: it decides the thank-you page's next step."""

        CONSULTATION = "consultation", "Consultation"
        DOWNLOAD = "download", "Download"
        WEBINAR = "webinar", "Webinar"
        OTHER = "other", "Other"

    class Field(models.TextChoices):
        """Lead fields a page may ask for besides the email, which every page asks."""

        FIRST_NAME = "first_name", "First name"
        LAST_NAME = "last_name", "Last name"
        PHONE = "phone", "Phone"
        COMPANY = "company", "Company"
        JOB_TITLE = "job_title", "Job title"
        COMPANY_SIZE = "company_size", "Company size"
        INDUSTRY = "industry", "Industry"
        COUNTRY = "country", "Country"

    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(
        "page type",
        max_length=20,
        choices=Kind.choices,
        default=Kind.CONSULTATION,
        help_text="A consultation page offers the booking calendar on its thank-you page.",
    )
    title = models.CharField(max_length=200, help_text="The browser tab's title.")
    headline = models.CharField(max_length=200)
    body = models.TextField(
        blank=True, help_text="Markdown. HTML is sanitised: scripts and styles are removed."
    )
    fields_shown = models.JSONField(
        default=list, blank=True, help_text="Fields asked besides the email."
    )
    fields_required = models.JSONField(default=list, blank=True)
    # Progressive profiling: asked of a returning lead (recognised by the signed lf_id cookie)
    # in place of the shown fields it has already given, never of a new visitor.
    fields_later = models.JSONField(
        "fields asked later",
        default=list,
        blank=True,
        help_text="Asked of a returning lead instead of fields we already have.",
    )
    qualifying_question = models.CharField(max_length=200, blank=True)
    qualifying_choices = models.TextField(blank=True, help_text="One answer per line.")
    consent_text = models.TextField(
        blank=True,
        help_text="When set, the prospect must tick a box with this text before submitting.",
    )
    cta_label = models.CharField("button label", max_length=60, default="Send")
    testimonial = models.TextField(blank=True)
    testimonial_author = models.CharField(max_length=120, blank=True)
    thank_you_text = models.TextField(
        blank=True, default="Thank you! We have your details and will be in touch shortly."
    )
    # The page's own promises, printed only when set (a download page replies with no one).
    form_note = models.CharField(
        max_length=300,
        blank=True,
        default="We reply within one business day. No spam, unsubscribe in one click.",
        help_text="Small print under the form. Leave empty to show none.",
    )
    thank_you_note = models.CharField(
        max_length=300,
        blank=True,
        default="A confirmation is on its way to your inbox.",
        help_text="A line under the thank-you text. Leave empty to show none.",
    )
    redirect_url = models.URLField(
        blank=True,
        validators=[validate_http_url],
        help_text="Send prospects here instead of the thank-you page.",
    )
    next_step_label = models.CharField(
        "next step button",
        max_length=80,
        blank=True,
        help_text="The thank-you page's button, e.g. “Download the guide”. "
        "A consultation page shows “Pick a time now” when empty.",
    )
    next_step_url = models.URLField(
        "next step link",
        blank=True,
        validators=[validate_http_url],
        help_text="Where that button goes (http or https). A consultation page links to "
        "the lead's own booking calendar instead.",
    )
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="landing_pages",
        help_text="Logo and colours. Empty: the site-wide default brand, if there is one.",
    )
    hero_image = models.FileField(
        upload_to=_image_name,
        blank=True,
        validators=[validate_image_upload],
        help_text="Optional. PNG, JPEG, GIF or WebP, up to 2 MB.",
    )
    hero_alt = models.CharField(
        "hero image description",
        max_length=200,
        blank=True,
        help_text="What the image shows, for screen readers. Empty: decorative.",
    )
    embed_origins = models.TextField(
        "sites allowed to embed the form",
        blank=True,
        validators=[validate_embed_origins],
        help_text="One origin per line, e.g. https://www.example.com (https only).",
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="landing_pages"
    )
    double_opt_in = models.BooleanField(
        default=False,
        help_text="The first email asks the prospect to confirm; the rest waits for the click.",
    )
    published = models.BooleanField(default=False)
    view_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def choices(self) -> list[str]:
        return [line.strip() for line in self.qualifying_choices.splitlines() if line.strip()]

    @property
    def embed_origin_list(self) -> list[str]:
        return embed_origins_in(self.embed_origins)


class Lead(models.Model):
    class Stage(models.TextChoices):
        NEW = "new", "New"
        NURTURING = "nurturing", "Nurturing"
        SALES_READY = "sales_ready", "Sales ready"
        CONTACTED = "contacted", "Contacted"
        BOOKED = "booked", "Booked"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class Temperature(models.TextChoices):
        HOT = "hot", "Hot"
        WARM = "warm", "Warm"
        COLD = "cold", "Cold"

    class CompanySize(models.TextChoices):
        XS = "1-9", "1–9"
        S = "10-49", "10–49"
        M = "50-249", "50–249"
        L = "250-999", "250–999"
        XL = "1000+", "1,000+"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Stored normalised (trimmed, lower-cased) by capture; the constraint below is what
    # makes two simultaneous submissions of one address end as one lead.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # E.164 (capture.validators.normalise_phone) from every way a lead comes in; a value
    # stored before that rule and not parseable stays as it was, and is never texted.
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    company_size = models.CharField(max_length=10, choices=CompanySize.choices, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = CountryField(blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name")
    answers = models.JSONField(default=dict, blank=True)
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    sms_consent_given_at = models.DateTimeField("SMS consent given at", null=True, blank=True)
    # A database default too: bulk loaders (CSV import's COPY, the benches) write raw SQL.
    sms_consent_text = models.TextField("SMS consent text", blank=True, default="", db_default="")
    source = models.CharField(max_length=100, blank=True, help_text="First-touch utm_source")
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        help_text="First-touch campaign",
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    # Written only by scoring.
    score = models.IntegerField(default=0)
    temperature = models.CharField(
        max_length=4, choices=Temperature.choices, default=Temperature.COLD
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    # The latest Activity's time, kept by capture.services: the dashboard's third sort key,
    # stored so that its index answers "hot first, then score, then latest activity" alone.
    last_activity_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Taking a lead as its owner is sales work: marketers may change a lead (they fix
        # data, move stages from the admin) but must not become its owner.
        permissions = [("claim_lead", "Can claim a lead as its owner")]
        constraints = [
            models.UniqueConstraint(fields=["email"], name="lead_email_unique"),
        ]
        indexes = [
            # The dashboard's order, read per temperature as a keyset (sales.selectors).
            models.Index(
                fields=["temperature", "-score", "-last_activity_at", "-id"],
                name="lead_dashboard_order_idx",
            ),
            models.Index(fields=["stage"], name="lead_stage_idx"),
            models.Index(fields=["-created_at"], name="lead_created_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_erased(self) -> bool:
        """A privacy erase replaced the address with a placeholder on this domain."""
        return self.email.endswith("@" + ERASED_EMAIL_DOMAIN)


class Submission(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="submissions")
    landing_page = models.ForeignKey(
        LandingPage, on_delete=models.PROTECT, related_name="submissions"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    data = models.JSONField(default=dict, help_text="The cleaned form data, as submitted")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The outbox (capture.processing): a submission is stored by the request and announced
    # (`lead_captured`: scoring, enrollment, journeys, webhooks) by a worker, which sets
    # processed_at. One the broker never delivered is picked up by the tick.
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_lead = models.BooleanField(default=False, db_default=False, editable=False)
    # The lead itself sent it: it created the lead, or the browser's signed cookie named the
    # lead. Anyone else merely typed a known address, so it gives no consent in its name
    # (capture_submission, the topic opt-ins of nurture.services.topics).
    proven = models.BooleanField(default=False, db_default=False, editable=False)
    process_attempts = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="submission_lead_idx"),
            models.Index(fields=["landing_page", "-created_at"], name="submission_page_idx"),
            # The tick's "not yet announced", oldest first: only the few pending rows.
            models.Index(
                fields=["created_at"],
                condition=models.Q(processed_at__isnull=True),
                name="submission_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead} on {self.landing_page}"


class Activity(models.Model):
    """A lead's behavioural event log: what scoring reads and the timeline shows."""

    class Kind(models.TextChoices):
        FORM_SUBMITTED = "form_submitted", "Form submitted"
        PAGE_VIEWED = "page_viewed", "Page viewed"
        EMAIL_OPENED = "email_opened", "Email opened"
        EMAIL_CLICKED = "email_clicked", "Email clicked"
        BOOKING_MADE = "booking_made", "Booking made"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        EMAIL_BOUNCED = "email_bounced", "Email bounced"
        CUSTOM = "custom", "Custom event"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time_idx"),
            models.Index(fields=["kind", "-occurred_at"], name="activity_kind_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.lead} at {self.occurred_at:%Y-%m-%d %H:%M}"


class AnonymousView(models.Model):
    """A page view of a browser that has not raised its hand yet, under track.js's random
    first-party visitor id (`lf_vid`). Joined to the lead (as page-view activities, times
    kept) when that browser submits a form, follows an emailed link or is identified; rows
    never joined expire after TRACKING_ANONYMOUS_DAYS (capture.anonymous)."""

    visitor = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["visitor", "occurred_at"], name="anonymous_visitor_idx"),
            models.Index(fields=["created_at"], name="anonymous_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visitor[:8]}… viewed {self.url}"
