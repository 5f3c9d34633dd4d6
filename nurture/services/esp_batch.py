"""Batch sending through an ESP: one API call for a step's recipients, per-recipient data.

With Mailjet (django-anymail's `anymail.backends.mailjet.EmailBackend`) a batch's emails of
one step go out in one Send API v3.1 call per 50 recipients (Mailjet's limit a call): the
step is composed ONCE, with Mailjet's `{{var:…}}` placeholders where each lead's values
go, and every recipient gets its values as anymail `merge_data` (Mailjet `Variables`), its
own List-Unsubscribe as `merge_headers`, and its delivery id as `merge_metadata`
(`EventPayload`, quoted back by Mailjet's webhooks). Mailjet answers each recipient with
its own status and MessageID, which becomes Delivery.message_id.

Why Mailjet: its batch API takes inline bodies with per-recipient variables (no template
stored at the ESP), returns a message id per recipient, and reports a refusal per
recipient, so one bad address fails its own row only (anymail's Mailgun shares one id
across a batch; Postmark merges only into stored templates).

The values are ours, encoded for the place they land, never the ESP's to interpret: each
merge field comes in up to four variables, escaped for HTML text (`_h`), percent-encoded
and escaped inside an HTML link (`_u`), as it is in the text part (`_t`) and percent-
encoded inside a text-part link (`_q`): exactly what composing gives a single email
(tests/nurture/test_esp_batch.py renders the call as Mailjet does and compares).
"""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from anymail.backends.mailjet import EmailBackend as MailjetBackend
from anymail.message import AnymailMessage
from django.conf import settings
from django.utils.html import escape

from nurture.models import Delivery
from nurture.rendering import MERGE_FIELDS, merge
from nurture.services import composing
from nurture.services.composing import EmailLinks

# Mailjet's Send API v3.1 takes at most 50 messages a call.
MAILJET_MESSAGES_PER_CALL = 50
_NONCE = secrets.token_hex(6)
# Stand-ins while the step is composed once. Letters and digits for merge fields (Markdown,
# escaping and percent-encoding leave them alone), a URL for our own links (so the body's
# links are found and tracked as the real ones would be). The random part: no lead's value
# or marketer's text can spell one.
_FIELD = re.compile(rf"lfv{_NONCE}([a-z_]+)z")
_URL = re.compile(rf"https://lfu{_NONCE}([a-z_]+)z\.invalid")
_LINK = re.compile(rf"https://lfl{_NONCE}(\d+)z\.invalid")
_URL_ATTRIBUTE = re.compile(r'\b(?:href|src)="[^"]*"')
_TEXT_URL = re.compile(r"https?://[^\s()<>]*")
_VARIABLE = re.compile(r"{{var:([a-z0-9_]+)}}")
# Our own links, one each a recipient.
_OWN_LINKS = ("unsubscribe_url", "booking_url", "confirm_url", "pixel_url")


def is_batch_esp(mail: Any) -> bool:
    return isinstance(mail, MailjetBackend)


@dataclass
class StepTemplate:
    """A step's email with placeholders, and how to fill them for one delivery."""

    subject: str
    text: str
    html: str
    links: list[str] = field(default_factory=list)  # tracked link i: its address template
    variables: frozenset[str] = frozenset()  # the placeholders it holds


def group_key(delivery: Delivery) -> tuple[Any, ...]:
    """Deliveries that share one composed email (and so one API call)."""
    enrollment = delivery.enrollment
    confirming = enrollment.needs_confirmation and enrollment.confirmed_at is None
    return (
        delivery.step_id,
        delivery.node_id,
        confirming,
        enrollment.sequence.track_engagement,
        tuple(composing.reply_to(node=delivery.node, lead=enrollment.lead)),
    )


def step_template(delivery: Delivery) -> StepTemplate:
    """The email of `delivery`'s step composed once, each lead's value a placeholder."""
    template = StepTemplate(subject="", text="", html="")
    enrollment = delivery.enrollment

    def track(url: str) -> str:
        template.links.append(url)
        return f"https://lfl{_NONCE}{len(template.links) - 1}z.invalid"

    confirming = enrollment.needs_confirmation and enrollment.confirmed_at is None
    links = EmailLinks(
        unsubscribe_url=_url_stand_in("unsubscribe_url"),
        booking_url=_url_stand_in("booking_url"),
        confirm_url=_url_stand_in("confirm_url") if confirming else "",
        pixel_url=_url_stand_in("pixel_url") if enrollment.sequence.track_engagement else "",
        track=track if enrollment.sequence.track_engagement else None,
    )
    context = {
        name: _url_stand_in(name) if name in _OWN_LINKS else f"lfv{_NONCE}{name}z"
        for name in MERGE_FIELDS
    }
    context["site_url"] = settings.SITE_URL
    composed = composing.compose(step=delivery.step, lead=None, links=links, context=context)
    html = composed.html
    # The layout's title and preheader hold the subject and preheader on one line, as
    # headers are (a value's line breaks folded to spaces there, not in the body).
    subject, preheader = _headlines(delivery, context, confirming=confirming)
    if _FIELD.search(subject):
        html = html.replace(escape(subject), "{{var:subject_h}}")  # <title>, aria-label
    if _FIELD.search(preheader):
        html = html.replace(f">{escape(preheader)}&#847;", ">{{var:preheader_h}}&#847;")
    template.html = _placeholders(html, html=True)
    template.text = _placeholders(composed.text, html=False)
    template.subject = "{{var:subject}}"
    template.variables = frozenset(_VARIABLE.findall(template.text + template.html))
    return template


def _headlines(delivery: Delivery, context: dict[str, str], *, confirming: bool) -> tuple[str, str]:
    step = delivery.step
    subject, preheader = (
        (composing.CONFIRMATION_SUBJECT, composing.CONFIRMATION_PREHEADER)
        if confirming
        else (step.subject, step.preheader)
    )
    return (
        " ".join(merge(subject, context, html=False).split()),
        " ".join(merge(preheader, context, html=False).split()),
    )


def _url_stand_in(name: str) -> str:
    return f"https://lfu{_NONCE}{name}z.invalid"


def _placeholders(composed: str, *, html: bool) -> str:
    """Stand-ins → Mailjet variables, each named for how its value must be encoded there."""
    in_links = _URL_ATTRIBUTE if html else _TEXT_URL
    suffix_in_link, suffix = ("_u", "_h") if html else ("_q", "_t")

    def in_link(match: re.Match[str]) -> str:
        return _FIELD.sub(lambda f: f"{{{{var:f_{f.group(1)}{suffix_in_link}}}}}", match.group(0))

    marked = in_links.sub(in_link, composed)
    marked = _FIELD.sub(lambda f: f"{{{{var:f_{f.group(1)}{suffix}}}}}", marked)
    own = "_h" if html else ""
    marked = _LINK.sub(lambda m: f"{{{{var:l{m.group(1)}{own}}}}}", marked)
    return _URL.sub(lambda m: f"{{{{var:u_{m.group(1)}{own}}}}}", marked)


# How a merge field's value is written where its placeholder stands (see the docstring).
_ENCODINGS = (
    ("_h", escape),
    ("_u", lambda value: escape(quote(value, safe=""))),
    ("_t", str),
    ("_q", lambda value: quote(value, safe="")),
)


def recipient_variables(template: StepTemplate, delivery: Delivery) -> tuple[dict[str, str], str]:
    """One delivery's values for the template's placeholders, and its unsubscribe link."""
    lead = delivery.enrollment.lead
    links = composing.delivery_links(delivery=delivery)
    own = {
        "unsubscribe_url": links.unsubscribe_url,
        "booking_url": links.booking_url,
        "confirm_url": links.confirm_url,
        "pixel_url": links.pixel_url,
    }
    context = composing.merge_context(
        lead=lead, unsubscribe_url=links.unsubscribe_url, booking=links.booking_url
    )
    wanted = template.variables
    values: dict[str, str] = {}
    for name in MERGE_FIELDS:
        for suffix, encode in _ENCODINGS:
            if f"f_{name}{suffix}" in wanted:
                values[f"f_{name}{suffix}"] = str(encode(context[name]))
    for name, url in own.items():
        values[f"u_{name}"], values[f"u_{name}_h"] = url, escape(url)
    if links.track is not None:
        for index, address in enumerate(template.links):
            tracked = links.track(_real_address(address, context=context, own=own))
            values[f"l{index}"], values[f"l{index}_h"] = tracked, escape(tracked)
    subject, preheader = _headlines(delivery, context, confirming=bool(links.confirm_url))
    values["subject_h"], values["preheader_h"] = escape(subject), escape(preheader)
    values = {name: value for name, value in values.items() if name in wanted}
    values["subject"] = subject
    return values, links.unsubscribe_url


def _real_address(address: str, *, context: dict[str, str], own: dict[str, str]) -> str:
    """A tracked link's address for one lead: as links_in reads it from a single email."""
    address = _URL.sub(lambda m: own[m.group(1)], address)
    return _FIELD.sub(lambda m: quote(context[m.group(1)], safe=""), address)


def batch_message(*, template: StepTemplate, deliveries: list[Delivery]) -> AnymailMessage:
    """One API call: the template once, each recipient's values, headers and delivery id."""
    first = deliveries[0]
    list_unsubscribe_extra = (
        f", <mailto:{settings.NURTURE_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
        if settings.NURTURE_UNSUBSCRIBE_MAILTO
        else ""
    )
    message = AnymailMessage(
        subject=template.subject,
        body=template.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.enrollment.lead.email for delivery in deliveries],
        reply_to=composing.reply_to(node=first.node, lead=first.enrollment.lead),
        headers={
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": composing._feedback_id(step=first.step, kind="nurture"),
        },
    )
    message.attach_alternative(template.html, "text/html")
    merge_data: dict[str, dict[str, str]] = {}
    merge_headers: dict[str, dict[str, str]] = {}
    merge_metadata: dict[str, dict[str, str]] = {}
    for delivery in deliveries:
        email = delivery.enrollment.lead.email
        merge_data[email], unsubscribe = recipient_variables(template, delivery)
        merge_headers[email] = {"List-Unsubscribe": f"<{unsubscribe}>{list_unsubscribe_extra}"}
        merge_metadata[email] = {"delivery": str(delivery.pk)}
    message.merge_data = merge_data
    message.merge_headers = merge_headers
    message.merge_metadata = merge_metadata
    # Mailjet fills {{var:…}} only when asked to; the values are already encoded.
    message.esp_extra = {"Globals": {"TemplateLanguage": True}}
    return message


def calls(
    deliveries: Iterable[Delivery], *, per_call: int = MAILJET_MESSAGES_PER_CALL
) -> list[list[Delivery]]:
    """The batch in API calls: one step's recipients together, at most `per_call` a call,
    and an address at most once a call (per-recipient data is keyed by address)."""
    groups: dict[tuple[Any, ...], list[list[Delivery]]] = {}
    for delivery in deliveries:
        chunks = groups.setdefault(group_key(delivery), [])
        email = delivery.enrollment.lead.email
        for chunk in chunks:
            if len(chunk) < per_call and all(d.enrollment.lead.email != email for d in chunk):
                chunk.append(delivery)
                break
        else:
            chunks.append([delivery])
    return [chunk for chunks in groups.values() for chunk in chunks]
