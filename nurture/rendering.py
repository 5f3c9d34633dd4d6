"""Marketer-written emails, rendered from a fixed, plain context.

Django's template language would let an author reach model methods and settings, so merge
fields are substituted from an allowlist instead: `{{ first_name }}` and friends, escaped for
the HTML part; an unknown field is a validation error in the admin, never a blank in a sent
email.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import unescape

from django.utils.html import escape

from capture.rendering import render_markdown

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
_LINK = re.compile(r'href="(https?://[^"]+)"')


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


def unknown_merge_fields(text: str) -> list[str]:
    unknown = set()
    for variable, tag in _TEMPLATE_SYNTAX.findall(text):
        name = variable.strip()
        if tag or name not in MERGE_FIELDS:
            unknown.add(f"{{%{tag}%}}" if tag else name or "{{ }}")
    return sorted(unknown)


def merge(text: str, context: Mapping[str, str], *, html: bool) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1), "")
        return escape(found) if html else found

    return MERGE_FIELD.sub(value, text)


def render_email(
    *,
    subject: str,
    preheader: str,
    body: str,
    cta_label: str,
    cta_url: str,
    context: Mapping[str, str],
) -> RenderedEmail:
    """Subject, preheader, a text part and the HTML of the body (before the layout)."""
    text = markdown_to_text(merge(body, context, html=False))
    button_url = merge(cta_url, context, html=False)
    if cta_label and button_url:
        text += f"\n\n{cta_label}: {button_url}"
    html_body = str(render_markdown(merge(body, context, html=True)))
    return RenderedEmail(
        subject=_one_line(merge(subject, context, html=False)),
        preheader=_one_line(merge(preheader, context, html=False)),
        text=text,
        html_body=html_body,
    )


def rewrite_links(html: str, rewrite: Callable[[str], str]) -> str:
    """Every http(s) link in `html` passed through `rewrite` (click tracking)."""
    return _LINK.sub(lambda m: f'href="{escape(rewrite(unescape(m.group(1))))}"', html)


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# Asterisks only: underscores appear in URLs and names.
_MD_EMPHASIS = re.compile(r"(\*\*|\*)(\S(?:.*?\S)?)\1")


def markdown_to_text(text: str) -> str:
    """The plain-text part: Markdown links spelled out, emphasis marks dropped."""
    return _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1 (\2)", text))


def _one_line(text: str) -> str:
    # CR/LF in a subject would start a new header line.
    return " ".join(text.split())
