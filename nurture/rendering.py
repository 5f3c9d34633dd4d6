"""Marketer-written emails, rendered from a fixed, plain context.

Django's template language would let an author reach model methods and settings, so merge
fields are substituted from an allowlist instead: `{{ first_name }}` and friends; an unknown
field is a validation error in the admin, never a blank in a sent email.

The marketer's Markdown is rendered first, with an unguessable placeholder where each merge
field stands; the values go in afterwards as plain text (escaped in the HTML part). A value
is never parsed as Markdown or HTML: a prospect whose first name is
`[Verify your account](https://evil.example/login)` gets exactly those characters, not a link.
"""

import functools
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.utils.html import escape

from capture.rendering import render_markdown

if TYPE_CHECKING:
    from capture.models import Lead

MERGE_FIELD = re.compile(r"{{\s*([a-z_]+)\s*}}")
MERGE_FIELDS = {
    "first_name": "The lead's first name (or “there”)",
    "last_name": "The lead's last name",
    "full_name": "First and last name",
    "company": "The lead's company",
    "job_title": "The lead's job title",
    "email": "The lead's email address",
    "booking_url": "Link to book a consultation",
    "unsubscribe_url": "One-click unsubscribe link",
    "site_url": "The site's address",
}
# Merge fields whose values are our own links, put into an href as they are; any other
# field inside a link is percent-encoded, so a value can never become a link of its own.
URL_FIELDS = frozenset({"booking_url", "unsubscribe_url", "site_url"})
_FIELD_NAMES = tuple(MERGE_FIELDS)
_LINK = re.compile(r'href="(https?://[^"]+)"')
_URL_ATTRIBUTE = re.compile(r'\b(?:href|src)="[^"]*"')


def lead_fields(lead: "Lead") -> dict[str, str]:
    """The lead's part of every merge context, and the only lead values a template sees:
    an email being sent (with its links, composing.merge_context) and a subject shown back
    to a rep as the lead saw it (sales' timeline) both start here."""
    return {
        "first_name": lead.first_name or "there",
        "last_name": lead.last_name,
        "full_name": lead.full_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "email": lead.email,
    }


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    text: str
    html_body: str


# Anything that looks like template syntax: `{{ settings.SECRET_KEY }}`, `{{ lead.delete }}`,
# `{{ first_name|upper }}` and `{% … %}` are never substituted, so the admin refuses them
# rather than let them reach a prospect as literal braces.
_TEMPLATE_SYNTAX = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.S)


_BUTTON_LINK = re.compile(
    r"https?://|{{\s*(?:" + "|".join(sorted(URL_FIELDS)) + r")\s*}}", re.IGNORECASE
)
BUTTON_LINK_HELP = (
    "Use a full https:// link or {{ booking_url }}, {{ site_url }} or {{ unsubscribe_url }}."
)


def is_button_link(url: str) -> bool:
    """A button leads to an address the marketer wrote or to one of our own links: a
    button link that starts with a name field would be the prospect's to choose."""
    return _BUTTON_LINK.match(url) is not None


def unknown_merge_fields(text: str) -> list[str]:
    unknown = set()
    for variable, tag in _TEMPLATE_SYNTAX.findall(text):
        name = variable.strip()
        if tag or name not in MERGE_FIELDS:
            unknown.add(f"{{%{tag}%}}" if tag else name or "{{ }}")
    return sorted(unknown)


def merge(text: str, context: Mapping[str, str], *, html: bool) -> str:
    """Merge values into text that is not parsed afterwards (a subject, a preheader)."""

    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1), "")
        return escape(found) if html else found

    return MERGE_FIELD.sub(value, text)


def merge_url(url: str, context: Mapping[str, str]) -> str:
    """A link with merge fields: our own links as they are, any other value percent-encoded
    (`?name={{ first_name }}` works; a first name can never replace the address)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = context.get(name, "")
        return found if name in URL_FIELDS else quote(found, safe="")

    return MERGE_FIELD.sub(value, url)


class _Placeholders:
    """Stand-ins for merge fields while Markdown is rendered, filled in afterwards.

    Letters and digits only, so Markdown and nh3 pass them through untouched; the random
    part means neither the marketer's text nor a merge value can spell one.
    """

    def __init__(self, context: Mapping[str, str]) -> None:
        self.context = context
        # One random marker per process, not per email: the marked body is then the same for
        # every lead, so its Markdown is rendered once per step (see _markdown_html). Values
        # go in after, in one pass, so a value can never be read as a marker.
        self.prefix = f"lfm{_NONCE}n"
        self.pattern = _MARKER

    def mark(self, text: str) -> str:
        return MERGE_FIELD.sub(
            lambda m: (
                f"{self.prefix}{_FIELD_NAMES.index(m.group(1))}z"
                if m.group(1) in MERGE_FIELDS
                else ""
            ),
            text,
        )

    def _value(self, match: re.Match[str]) -> str:
        return self.context.get(_FIELD_NAMES[int(match.group(1))], "")

    def fill_text(self, text: str) -> str:
        return self.pattern.sub(self._value, text)

    def fill_url(self, url: str) -> str:
        """A link's merge fields by the URL rules, unescaped: the text part's links are
        then the very addresses the HTML part's hrefs hold."""

        def value(match: re.Match[str]) -> str:
            name = _FIELD_NAMES[int(match.group(1))]
            found = self.context.get(name, "")
            return found if name in URL_FIELDS else quote(found, safe="")

        return self.pattern.sub(value, url)

    def fill_html(self, html: str) -> str:
        def in_url(match: re.Match[str]) -> str:
            def value(inner: re.Match[str]) -> str:
                name = _FIELD_NAMES[int(inner.group(1))]
                found = self.context.get(name, "")
                return escape(found if name in URL_FIELDS else quote(found, safe=""))

            return self.pattern.sub(value, match.group(0))

        # Links first (URL rules), then every other place as escaped text.
        html = _URL_ATTRIBUTE.sub(in_url, html)
        return self.pattern.sub(lambda m: escape(self._value(m)), html)


_NONCE = secrets.token_hex(8)
_MARKER = re.compile(rf"lfm{_NONCE}n(\d+)z")


@functools.lru_cache(maxsize=512)
def _markdown_html(marked: str) -> str:
    """A step's body (merge fields marked) as sanitised HTML: the same for every lead, so a
    batch renders each step's Markdown once, not once per email."""
    return str(render_markdown(marked))


def render_email(
    *,
    subject: str,
    preheader: str,
    body: str,
    context: Mapping[str, str],
) -> RenderedEmail:
    """Subject, preheader, a text part and the HTML of the body (before the layout).

    The button is the layout's, in both parts (templates/nurture/email.*): adding it here
    too once printed its link twice in the text part.
    """
    placeholders = _Placeholders(context)
    marked = placeholders.mark(body)
    text = placeholders.fill_text(markdown_to_text(marked, link=placeholders.fill_url))
    html_body = placeholders.fill_html(_markdown_html(marked))
    return RenderedEmail(
        subject=_one_line(merge(subject, context, html=False)),
        preheader=_one_line(merge(preheader, context, html=False)),
        text=text,
        html_body=html_body,
    )


def links_in(html: str) -> list[str]:
    """The http(s) links of `html`, as a browser would follow them."""
    return [unescape(url) for url in _LINK.findall(html)]


def rewrite_links(html: str, rewrite: Callable[[str], str]) -> str:
    """Every http(s) link in `html` passed through `rewrite` (click tracking)."""
    return _LINK.sub(lambda m: f'href="{escape(rewrite(unescape(m.group(1))))}"', html)


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# Asterisks only: underscores appear in URLs and names.
_MD_EMPHASIS = re.compile(r"(\*\*|\*)(\S(?:.*?\S)?)\1")


def markdown_to_text(text: str, *, link: Callable[[str], str] = str) -> str:
    """The plain-text part: Markdown links spelled out (their address through `link`),
    emphasis marks dropped."""
    spelled = _MD_LINK.sub(lambda m: f"{m.group(1)} ({link(m.group(2))})", text)
    return _MD_EMPHASIS.sub(r"\2", spelled)


def _one_line(text: str) -> str:
    # CR/LF in a subject would start a new header line.
    return " ".join(text.split())
