"""A step for a lead: Markdown once, merge values as text, the layout, the links.

Real sends and a marketer's tests go through the same `compose` and `_message`: a test is
the real email (layout, headers, List-Unsubscribe), only its links lead to a page that says
it was a test instead of acting on a lead.
"""

import email.policy
import functools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.utils import formataddr, parseaddr
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template import engines
from django.template.backends.django import Template
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from mjml import mjml2html

from capture.models import Lead
from leadfunnel.mail import OutgoingEmail
from nurture import tokens
from nurture.models import Delivery, Node, Step
from nurture.rendering import lead_fields, links_in, merge_url, render_email, rewrite_links
from nurture.services.mime import smtp_bytes

# The kinds of link a test email carries, each answered by the test-link page.
TEST_LINKS = ("unsubscribe", "booking")
# The double opt-in request. Fixed words, not a step's: it must read as a request to
# confirm, whatever the sequence's Day 1 says (that step's slot is what it takes).
CONFIRMATION_SUBJECT = "Please confirm your email address"
CONFIRMATION_PREHEADER = "One click, and we send you what you asked for."
CONFIRMATION_BODY = """Hi {{ first_name }},

Thank you for your request. Please confirm your email address with the button below, so we
know it is yours and that you want to hear from us.

If you did not ask for this, ignore this email: we will not write to you again.

The leadfunnel team"""
CONFIRMATION_BUTTON = "Confirm my email address"
# A journey email node's config "reply_to": this, or an address.
REPLY_TO_OWNER = "owner"
# The HTML layout's source: MJML with Django placeholders, compiled to HTML once (html_layout).
LAYOUT = "nurture/email.mjml"


class NurtureMessage(OutgoingEmail):
    def message(self, *, policy: email.policy.Policy | None = email.policy.default) -> Any:
        # At 78 columns Python folds a long List-Unsubscribe URL into RFC 2047 encoded words,
        # which mail clients do not read as a URL: keep header lines whole (RFC 5322: 998).
        policy = (policy or email.policy.default).clone(max_line_length=998)
        # The bytes the sender puts on the wire (mime.smtp_bytes), read back: whatever
        # looks at the message (a test, the file or console backend) sees exactly those.
        raw = smtp_bytes(self)
        if raw is None:
            return super().message(policy=policy)
        return message_from_bytes(raw, policy=policy)


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class EmailLinks:
    """Where an email's own links go: signed links for a delivery, or test pages."""

    unsubscribe_url: str
    booking_url: str
    confirm_url: str = ""
    pixel_url: str = ""
    track: Callable[[str], str] | None = None


def sample_lead() -> Lead:
    """The fictional lead a preview shows by default: never saved, never a real person."""
    return Lead(
        email="ada.lovelace@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines Ltd",
        job_title="Head of Marketing",
        uid=uuid.UUID(int=0),
    )


def delivery_links(*, delivery: Delivery) -> EmailLinks:
    lead, sequence = delivery.enrollment.lead, delivery.enrollment.sequence
    unsubscribe = tokens.unsubscribe_token(
        lead_id=lead.pk, lead_uid=lead.uid, delivery_id=delivery.pk
    )
    track: Callable[[str], str] | None = None
    pixel_url = ""
    if sequence.track_engagement:

        def track(url: str) -> str:
            click = tokens.click_token(delivery_id=delivery.pk, lead_uid=lead.uid, url=url)
            return _absolute(reverse("nurture:click", args=[click]))

        opened = tokens.open_token(delivery_id=delivery.pk, lead_uid=lead.uid)
        pixel_url = _absolute(reverse("nurture:open", args=[opened]))
    confirm_url = ""
    if delivery.enrollment.needs_confirmation and delivery.enrollment.confirmed_at is None:
        confirmed = tokens.confirm_token(lead_id=lead.pk, lead_uid=lead.uid)
        confirm_url = _absolute(reverse("nurture:confirm", args=[confirmed]))
    return EmailLinks(
        unsubscribe_url=_absolute(reverse("nurture:unsubscribe", args=[unsubscribe])),
        booking_url=booking_url(lead=lead),
        confirm_url=confirm_url,
        pixel_url=pixel_url,
        track=track,
    )


def links_for_a_test() -> EmailLinks:
    """A test's links: each opens a page saying it was a test, for any lead (even the
    fictional sample), and none of them changes anything. Untracked: tests are not stats."""
    return EmailLinks(
        unsubscribe_url=page_url_for_test("unsubscribe"), booking_url=page_url_for_test("booking")
    )


def page_url_for_test(kind: str) -> str:
    return _absolute(reverse("nurture:test_link", args=[kind]))


def build_message(*, delivery: Delivery) -> EmailMultiAlternatives:
    lead = delivery.enrollment.lead
    links = delivery_links(delivery=delivery)
    composed = compose(step=delivery.step, lead=lead, links=links)
    step = delivery.step
    return _message(
        composed,
        to=lead.email,
        name=lead.full_name,
        links=links,
        feedback_id=_feedback_id(step=step, kind="nurture"),
        reply_to=reply_to(node=delivery.node, lead=lead),
    )


def build_preview(*, step: Step, lead: Lead) -> ComposedEmail:
    return compose(step=step, lead=lead, links=links_for_a_test())


def build_test_message(*, step: Step, lead: Lead, to: str) -> EmailMultiAlternatives:
    """A marketer's test: the real email for `lead`, to `to`, with test links."""
    links = links_for_a_test()
    composed = compose(step=step, lead=lead, links=links)
    test = ComposedEmail(
        subject=f"[Test] {composed.subject}", text=composed.text, html=composed.html
    )
    return _message(
        test,
        to=to,
        name="",
        links=links,
        feedback_id=_feedback_id(step=step, kind="test"),
        reply_to=reply_to(node=getattr(step, "node", None), lead=lead),
    )


def compose(
    *, step: Step, lead: Lead | None, links: EmailLinks, context: dict[str, str] | None = None
) -> ComposedEmail:
    """The step's email for `lead`: subject, text part and HTML part in the email layout.

    With a confirm link (double opt-in, not confirmed yet) the email is the confirmation
    request instead: its own subject and words and the confirm button, since the prospect
    has not yet said they want the sequence's first email. A given `context` stands in for
    the lead's values (esp_batch: one email per step, with an ESP's placeholders).
    """
    if context is None:
        assert lead is not None  # noqa: S101 - one of the two, by the signature's contract
        context = merge_context(
            lead=lead, unsubscribe_url=links.unsubscribe_url, booking=links.booking_url
        )
    if links.confirm_url:
        rendered = render_email(
            subject=CONFIRMATION_SUBJECT,
            preheader=CONFIRMATION_PREHEADER,
            body=CONFIRMATION_BODY,
            context=context,
        )
        cta_label, cta_url = CONFIRMATION_BUTTON, ""
    else:
        rendered = render_email(
            subject=step.subject, preheader=step.preheader, body=step.body, context=context
        )
        cta_label = step.cta_label
        cta_url = merge_url(step.cta_url, context) if step.cta_label else ""
    html_body, text = rendered.html_body, rendered.text
    if links.track is not None:
        # One signed link per address, the same in both parts: the text part is the same
        # email, and a click on either counts.
        track = functools.cache(links.track)
        for url in set(links_in(html_body)):
            text = text.replace(f"({url})", f"({track(url)})")
        html_body = rewrite_links(html_body, track)
        cta_url = track(cta_url) if cta_url else ""
    cta_url = links.confirm_url or cta_url
    layout = {
        "rendered": rendered,
        "text_body": text,
        # Sanitised by nh3 in render_email; merge values and rewritten hrefs are escaped.
        "html_body": mark_safe(html_body),  # noqa: S308
        "cta_label": cta_label,
        "cta_url": cta_url,
        "unsubscribe_url": links.unsubscribe_url,
        "postal_address": settings.NURTURE_POSTAL_ADDRESS,
        "pixel_url": links.pixel_url,
    }
    return ComposedEmail(
        subject=rendered.subject,
        # Plain str, not the SafeString render_to_string returns: the text part is text, and
        # a page that shows it must escape it.
        text=str.__str__(render_to_string("nurture/email.txt", layout)),
        html=str.__str__(html_layout().render(layout)),
    )


def html_layout() -> Template:
    """The email layout as a Django template, compiled from MJML once per process.

    MJML (tables Outlook renders, its bulletproof button, the responsive column) is compiled
    with no marketer text in it: its source holds only Django placeholders, which the
    compiled HTML keeps, and the step's sanitised body, button, footer and pixel are filled
    in per email by Django's escaping templates. Keyed on the source, so an edited layout
    is compiled anew where templates are re-read (development), and never per email.
    """
    # The Django engine's templates (the loader's type is any engine's).
    return _compiled_layout(cast(Template, get_template(LAYOUT)).template.source)


# Where the compiled layout may break a line: between table rows and cells, after a block
# or a comment, never inside text. MJML writes one line of several kilobytes, which mail
# has to fold (RFC 5322: 998 characters) and spam filters read as a trick.
_LAYOUT_LINE_BREAK = re.compile(r"(</tr>|</td>|<tbody>|</tbody>|</style>|</head>|</div>|-->)(?=<)")


@functools.lru_cache(maxsize=4)
def _compiled_layout(source: str) -> Template:
    html = mjml2html(source, disable_comments=True)
    return cast(Template, engines["django"].from_string(_LAYOUT_LINE_BREAK.sub("\\1\n", html)))


def step_links(*, step: Step, lead: Lead) -> frozenset[str]:
    """The links the step's author wrote, as they come out for `lead` (merge values cannot
    add any): what a tracked click may lead to, besides the product's own pages."""
    context = merge_context(lead=lead)
    rendered = render_email(subject="", preheader="", body=step.body, context=context)
    cta_url = merge_url(step.cta_url, context) if step.cta_label else ""
    return frozenset([*links_in(rendered.html_body), *([cta_url] if cta_url else [])])


def is_own_page(url: str) -> bool:
    return url.startswith(f"{settings.SITE_URL}/")


def booking_url(*, lead: Lead) -> str:
    return _absolute(f"/book/{tokens.booking_token(lead_uid=str(lead.uid))}/")


def merge_context(*, lead: Lead, unsubscribe_url: str = "", booking: str = "") -> dict[str, str]:
    """The only values an email template sees: the lead's public fields and its links."""
    return {
        **lead_fields(lead),
        "booking_url": booking or booking_url(lead=lead),
        "unsubscribe_url": unsubscribe_url,
        "site_url": settings.SITE_URL,
    }


def _feedback_id(*, step: Step, kind: str) -> str:
    """Gmail's Feedback-ID, `a:b:c:SenderId`: its complaint reports count per field, so a
    step (or a whole sequence) that draws complaints shows up as one; tests apart."""
    return f"{step.pk}:{step.sequence_id}:{kind}:leadfunnel"


def reply_to(*, node: Node | None, lead: Lead) -> list[str]:
    """Where a reply goes. A journey's email node may say in its config: `"reply_to":
    "owner"` (a sales-like step: "just reply" reaches the lead's rep, when it has one) or an
    address of its own; otherwise NURTURE_REPLY_TO, and without that the sender itself."""
    wanted = node.config.get("reply_to") if node is not None and node.config else None
    if wanted == REPLY_TO_OWNER:
        owner = lead.owner if lead.owner_id is not None else None
        if owner is not None and owner.email:
            return [formataddr((_one_line(owner.get_full_name()), owner.email))]
    elif isinstance(wanted, str) and is_reply_address(wanted):
        return [wanted.strip()]
    return [settings.NURTURE_REPLY_TO] if settings.NURTURE_REPLY_TO else []


def is_reply_address(value: str) -> bool:
    """One address, `sales@acme.com` or `Acme Sales <sales@acme.com>`; nothing that could
    start a header of its own."""
    if "\r" in value or "\n" in value or "," in value:
        return False
    address = parseaddr(value.strip())[1]
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _message(
    composed: ComposedEmail,
    *,
    to: str,
    name: str,
    links: EmailLinks,
    feedback_id: str,
    reply_to: list[str],
) -> EmailMultiAlternatives:
    list_unsubscribe = f"<{links.unsubscribe_url}>"
    if settings.NURTURE_UNSUBSCRIBE_MAILTO:
        list_unsubscribe += f", <mailto:{settings.NURTURE_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    message = NurtureMessage(
        subject=composed.subject,
        body=composed.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((_one_line(name), to))],
        reply_to=reply_to,
        # Message-ID in the From domain: OutgoingEmail.
        headers={
            "List-Unsubscribe": list_unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": feedback_id,
        },
    )
    message.attach_alternative(composed.html, "text/html")
    return message


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
