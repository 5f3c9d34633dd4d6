"""What an email's content must be, checked in one place for every way a marketer writes one.

The sequence admin's step form, the journey map's email node form, and the API's step and
email node serializers all call `email_content_errors`, so a merge field or a button link
refused in one is refused in all, with the same words.
"""

from collections.abc import Callable
from typing import Any

from nurture.rendering import BUTTON_LINK_HELP, MERGE_FIELDS, is_button_link, unknown_merge_fields

# The fields a merge field may appear in (the button's label is shown as written).
MERGE_FIELD_NAMES = ("subject", "preheader", "body", "cta_url")


def email_content_errors(value: Callable[[str], Any]) -> dict[str, list[str]]:
    """Field name → messages, for the email whose field values `value(name)` gives.

    A callable rather than a dict, so an update can fall back to the saved step's values
    for the fields it does not send.
    """
    errors: dict[str, list[str]] = {}
    allowed = ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS)
    for name in MERGE_FIELD_NAMES:
        unknown = unknown_merge_fields(value(name) or "")
        if unknown:
            errors[name] = [f"Unknown merge field {', '.join(unknown)}. Use {allowed}."]
    if bool(value("cta_label")) != bool(value("cta_url")):
        errors.setdefault("cta_url", []).append("A button needs both a label and a link.")
    url = value("cta_url") or ""
    if url and not is_button_link(url):
        errors.setdefault("cta_url", []).append(BUTTON_LINK_HELP)
    return errors
