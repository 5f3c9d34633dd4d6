"""Merge fields in text that is not an email's body: a journey's SMS, notification, task and
note, and a subject shown back to a rep as the lead saw it.

The fields are an email's (`composing.merge_context`: first_name, company, booking_url,
site_url…), plus `{{ name }}` (the lead's full name, else its email), which journey actions
offered first. Values go in as plain text, in one pass and never through a template engine
or Markdown: they are the prospect's own typing, so a value cannot add a field of its own.
A field nobody offers stays as written, so a typo shows instead of vanishing.
"""

import re
from collections.abc import Callable

from capture.models import Lead
from nurture.rendering import MERGE_FIELD, MERGE_FIELDS
from nurture.services.composing import merge_context

# Journey actions' own name for "whoever this is": the full name, else the email.
NAME_FIELD = "name"


def merge_text(
    text: str,
    *,
    lead: Lead,
    for_team: bool = False,
    escape: Callable[[str], str] | None = None,
) -> str:
    """`text` with the lead's values in place of its merge fields.

    `for_team`: the reader is a rep or the team (a task, a note, a notification), so
    `{{ first_name }}` falls back to the full name, then the email (whom to call), not to the
    prospect-facing "there". `escape` is applied to each value (e.g. `slack_escape`), never
    to the text around it, which the marketer wrote.
    """
    if MERGE_FIELD.search(text) is None:
        return text
    context = {**merge_context(lead=lead), NAME_FIELD: lead.full_name or lead.email}
    if for_team:
        context["first_name"] = lead.first_name or lead.full_name or lead.email

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in MERGE_FIELDS and name != NAME_FIELD:
            return match.group(0)
        found = context.get(name, "")
        return escape(found) if escape is not None else found

    return MERGE_FIELD.sub(value, text)


def slack_escape(text: str) -> str:
    """Text for a Slack-style webhook's `text`: `&`, `<` and `>` as Slack asks, so a name
    like `<!channel>` or `<https://evil.example|Open lead>` reads as typed instead of pinging
    the channel or showing a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
