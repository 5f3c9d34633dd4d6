"""The public capture form, built per landing page."""

import copy
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, QueryDict
from django.utils.functional import cached_property
from django_countries import countries

from capture.emailtypos import (
    COMMON_DOMAINS,
    MIN_NAME_LENGTH,
    REAL_DOMAINS,
    TLD_TYPOS,
    suggest_email,
)
from capture.models import SMS_CONSENT_TEXT, LandingPage, Lead
from capture.services import (
    UTM_FIELDS,
    CaptureResult,
    Tracking,
    capture_submission,
    normalise_email,
)
from capture.validators import (
    normalise_phone,
    validate_company_name,
    validate_job_title,
    validate_person_name,
)
from leadfunnel.zones import is_time_zone

_started_signer = signing.TimestampSigner(salt="capture.form-started")
_DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "guerrillamail.com",
        "mailinator.com",
        "maildrop.cc",
        "sharklasers.com",
        "temp-mail.org",
        "tempmail.com",
        "throwawaymail.com",
        "trashmail.com",
        "yopmail.com",
        "getnada.com",
        "dispostable.com",
    }
)
_COUNTRY_CHOICES = [("", "Choose…"), *countries]

# Form fields for the optional lead fields a page may ask for, built per form (a deep copy
# of the 250-country choice field costs more than building it).
LEAD_FORM_FIELDS: dict[str, Callable[[], forms.Field]] = {
    "first_name": lambda: forms.CharField(
        label="First name", max_length=100, validators=[validate_person_name]
    ),
    "last_name": lambda: forms.CharField(
        label="Last name", max_length=100, validators=[validate_person_name]
    ),
    # Checked and put in E.164 by clean(), read where the visitor is (CaptureForm.clean).
    # type="tel": phones show the number keypad.
    "phone": lambda: forms.CharField(
        label="Phone", max_length=40, widget=forms.TextInput(attrs={"type": "tel"})
    ),
    "company": lambda: forms.CharField(
        label="Company", max_length=200, validators=[validate_company_name]
    ),
    "job_title": lambda: forms.CharField(
        label="Job title", max_length=200, validators=[validate_job_title]
    ),
    "company_size": lambda: forms.ChoiceField(
        label="Company size", choices=[("", "Choose…"), *Lead.CompanySize.choices]
    ),
    "industry": lambda: forms.CharField(label="Industry", max_length=100),
    "country": lambda: forms.ChoiceField(label="Country", choices=_COUNTRY_CHOICES),
}
AUTOCOMPLETE = {
    "email": "email",
    "first_name": "given-name",
    "last_name": "family-name",
    "phone": "tel",
    "company": "organization",
    "job_title": "organization-title",
    "country": "country",
}
# Hidden fields carried from the landing URL and the browser, clipped to what we store.
TRACKING_FIELDS = {
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
    "utm_term": 100,
    "utm_content": 100,
    "referrer": 2000,
    "time_zone": 64,
}


FORM_EXPIRED = "This form has expired; please check your details and send it again."


def form_started_token() -> str:
    return _started_signer.sign(str(time.time()))


def fields_to_ask(*, page: LandingPage, known: frozenset[str] = frozenset()) -> list[str]:
    """The lead fields the form asks, in order: progressive profiling for a returning lead.

    A new visitor (`known` empty) gets the page's shown fields. A returning lead is not
    asked again what it already gave; in its place, as many of the "asked later" fields it
    has not given, so the form stays as short as the page made it.
    """
    shown = [name for name in page.fields_shown if name in LEAD_FORM_FIELDS]
    asked = [name for name in shown if name not in known]
    if known:
        later = [n for n in page.fields_later if n in LEAD_FORM_FIELDS and n not in known]
        asked += [n for n in later if n not in asked][: len(shown) - len(asked)]
    return asked


def known_fields(lead: Lead | None) -> frozenset[str]:
    """Which of a lead's own fields are filled in (names only: no value reaches a form)."""
    if lead is None:
        return frozenset()
    return frozenset(name for name in LEAD_FORM_FIELDS if getattr(lead, name))


# Fields higher apps add to a page's form (nurture: the page's subscription-topic opt-ins),
# registered in their AppConfig.ready: capture sits below them and imports none of them.
EXTRA_FIELDS: list[Callable[[LandingPage], dict[str, forms.Field]]] = []
# The same for every form; built once, not per form (a POST never renders it).
_TYPO_RULES = json.dumps(
    {
        "domains": COMMON_DOMAINS,
        "tlds": TLD_TYPOS,
        "real": sorted(REAL_DOMAINS),
        "min": MIN_NAME_LENGTH,
    },
    separators=(",", ":"),
)


def form_extra_fields(page: LandingPage) -> dict[str, forms.Field]:
    """The fields higher apps add to `page`'s form (EXTRA_FIELDS), as they stand now."""
    fields: dict[str, forms.Field] = {}
    for extra in EXTRA_FIELDS:
        fields.update(extra(page))
    return fields


# The form's own plumbing (the honeypot, the signed start time, the typo check's echo),
# never stored with the submission.
NOT_STORED = ("website", "started", "email_checked")


class CaptureForm(forms.Form):
    email = forms.EmailField(label="Work email", max_length=254)
    # Honeypot: hidden from people by CSS and aria-hidden, filled in by naive bots.
    website = forms.CharField(required=False, label="Leave this field empty")
    started = forms.CharField(widget=forms.HiddenInput, required=False)
    # The address we already suggested a correction for: sent again unchanged, it is kept.
    email_checked = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        page: LandingPage,
        suggest_corrections: bool = True,
        returning: Lead | None = None,
        extra_fields: Mapping[str, forms.Field] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.page = page
        # Off for the headless capture API: its caller has its own form and cannot resend
        # our hidden field; its leads are still scored as free mail when mistyped.
        self.suggest_corrections = suggest_corrections
        # A returning lead, named by its signed cookie: which fields it has shapes the form,
        # and a submission of its own address may change them (capture_submission). Nothing
        # of it is prefilled (the browser may be a shared one).
        shown = fields_to_ask(page=page, known=known_fields(returning))
        # Sent with another address, the form is someone else's in that browser: a new
        # visitor, asked what the page asks, or the cookie would let anyone leave out the
        # page's required fields. Compared as capture_submission compares (latest wins).
        submitted = normalise_email(str(self.data.get("email", ""))) if self.is_bound else ""
        if returning is not None and self.is_bound and returning.email != submitted:
            returning = None
        self.returning = returning
        known = known_fields(returning)
        asked = fields_to_ask(page=page, known=known)
        taken = list(asked)
        if self.is_bound:
            # What the form this browser was shown sends is taken, but only what this
            # visitor is asked is required: a form rendered before the cookie was set
            # (another tab) sends the page's own fields, and one rendered for the cookie's
            # lead, sent with another address, the fields asked in place of the lead's.
            taken += [
                n
                for n in dict.fromkeys([*page.fields_shown, *shown])
                if n in LEAD_FORM_FIELDS and n not in asked and n in self.data
            ]
        for name in taken:
            self.fields[name] = LEAD_FORM_FIELDS[name]()
            # Only what is asked now may be required: a field the lead gave never is again.
            self.fields[name].required = name in page.fields_required and name in asked
        # The question too is asked once: a returning lead that answered it is not asked
        # again (an answer sent anyway, from an older form, is still taken).
        answered = returning is not None and bool(returning.answers.get(page.qualifying_question))
        if (
            page.qualifying_question
            and page.choices
            and (not answered or (self.is_bound and "answer" in self.data))
        ):
            self.fields["answer"] = forms.ChoiceField(
                label=page.qualifying_question,
                choices=[(choice, choice) for choice in page.choices],
                widget=forms.RadioSelect,
                required=not answered,
            )
        if page.consent_text:
            self.fields["consent"] = forms.BooleanField(
                label=page.consent_text,
                error_messages={"required": "Please tick this box so we may contact you."},
            )
        if "phone" in self.fields:
            # Texting needs its own consent (TCPA, PECR): separate from the email one and
            # never ticked for the prospect.
            self.fields["sms_consent"] = forms.BooleanField(
                label=SMS_CONSENT_TEXT, required=False, initial=False
            )
        if extra_fields is None:
            self.fields.update(form_extra_fields(page))
        else:  # kept from an earlier form of this page: each form gets its own copies
            self.fields.update(copy.deepcopy(dict(extra_fields)))
        for name in TRACKING_FIELDS:
            self.fields[name] = forms.CharField(
                widget=forms.HiddenInput, required=False, strip=True
            )
        for name, token in AUTOCOMPLETE.items():
            if name in self.fields:
                self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["website"].widget.attrs.update(tabindex="-1", autocomplete="off")
        # emailcheck.js suggests before submit by the same rules as suggest_email().
        self.fields["email"].widget.attrs["data-typo-rules"] = _TYPO_RULES
        if not self.is_bound:
            self.initial.setdefault("started", form_started_token())

    @cached_property
    def helper(self) -> FormHelper:
        """crispy-forms' layout, built only when the form is rendered."""
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True  # the template renders the token
        visible = [name for name in self.fields if name not in TRACKING_FIELDS]
        visible = [n for n in visible if n not in ("website", "started", "email_checked")]
        if "sms_consent" in visible:  # beside the phone number it is about
            visible.remove("sms_consent")
            visible.insert(visible.index("phone") + 1, "sms_consent")
        helper.layout = Layout(
            *[Field(name) for name in visible],
            Div(Field("website"), css_class="lf-hp", aria_hidden="true"),
            *[Field(name) for name in ("started", "email_checked", *TRACKING_FIELDS)],
            Submit("submit", self.page.cta_label, css_class="btn-lg w-100"),
        )
        return helper

    def looks_automated(self) -> bool:
        """True when a bot sent the form: honeypot filled, or sent back too fast."""
        if self.data.get("website"):
            return True
        try:
            started = float(_started_signer.unsign(self.data.get("started", "")))
        except (signing.BadSignature, ValueError):
            return True
        return bool(time.time() - started < settings.CAPTURE_MIN_FILL_SECONDS)

    def _renew_if_expired(self) -> bool:
        """True when the token is ours but older than CAPTURE_FORM_MAX_AGE_SECONDS.

        A page left open for days is a person's, not a bot's (its signature is good), so it
        gets a message instead of the bots' silent thank-you, and the form shown again carries
        a fresh token: what they typed is kept and sending it again works. Without a limit a
        token harvested once would let a script skip the fill-time check forever.
        """
        try:
            _started_signer.unsign(
                self.data.get("started", ""), max_age=settings.CAPTURE_FORM_MAX_AGE_SECONDS
            )
        except signing.SignatureExpired:
            data = cast(QueryDict, self.data).copy()  # request.POST is immutable
            data["started"] = form_started_token()
            self.data = data
            return True
        except signing.BadSignature:
            pass  # a forged token is looks_automated's; the headless API sends none
        return False

    def submit(self, request: HttpRequest) -> CaptureResult:
        """This valid form as a submission: the one way the landing page and the capture API
        turn a form into a lead (its values, the visit's tracking and the consents)."""
        data = self.cleaned_data
        return capture_submission(
            page=self.page,
            data={
                k: v for k, v in data.items() if k not in ("website", "started", "email_checked")
            },
            tracking=Tracking(
                utm={name: data[name] for name in UTM_FIELDS},
                referrer=data["referrer"],
                user_agent=request.headers.get("User-Agent", "")[:500],
                ip=request.META.get(settings.RATELIMIT_IP_META_KEY, ""),
            ),
            answer=data.get("answer", ""),
            consent_given=bool(data.get("consent")),
            sms_consent_given=bool(data.get("sms_consent")),
            returning=self.returning,
        )

    def clean_email(self) -> str:
        email = normalise_email(self.cleaned_data["email"])
        domain = email.rpartition("@")[2]
        if settings.CAPTURE_BLOCK_DISPOSABLE and domain in _DISPOSABLE_DOMAINS:
            raise forms.ValidationError("Please use a permanent email address.")
        suggestion = suggest_email(email) if self.suggest_corrections else ""
        if suggestion and self.data.get("email_checked", "").strip().lower() != email.lower():
            # Asked once (the browser script asks before submit; this is for no JS): the
            # form shown again remembers the address, so sending it unchanged keeps it.
            data = cast(QueryDict, self.data).copy()  # request.POST is immutable
            data["email_checked"] = email
            self.data = data
            raise forms.ValidationError(
                f"Did you mean {suggestion}? If {email} is right, send the form again."
            )
        return email

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self._renew_if_expired():
            self.add_error(None, FORM_EXPIRED)
        for name, limit in TRACKING_FIELDS.items():
            cleaned[name] = (cleaned.get(name) or "")[:limit]
        if not is_time_zone(cleaned["time_zone"]):
            # Reported by the browser, not typed: unknown means "use the fallback".
            cleaned["time_zone"] = ""
        if cleaned.get("phone"):
            # Where the visitor is, for a number written without its country code: the
            # country it chose, else the one it gave before (not asked again), else its
            # browser's time zone's (normalise_phone).
            given = str(self.returning.country) if self.returning is not None else ""
            try:
                cleaned["phone"] = normalise_phone(
                    cleaned["phone"],
                    country=cleaned.get("country") or given,
                    time_zone=cleaned["time_zone"],
                )
            except forms.ValidationError as error:
                self.add_error("phone", error)
        return cleaned
