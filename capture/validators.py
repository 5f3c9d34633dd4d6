"""Rules for what a lead's own fields may hold, shared by every way a lead comes in: the
landing-page form (and the capture API, which validates through it) and the CSV import."""

import re

from django.core.exceptions import ValidationError

NAME_WITH_WEB_ADDRESS = "Names can't contain web addresses."
# A scheme (https://, ftp://), "www.", or a host name ending in a common top-level domain,
# optionally followed by a path: what spam bots put into name fields. A dot inside a name
# ("J.R.", "St. John", "Mary.Ann") does not match: the part after it is not a known TLD.
_WEB_ADDRESS = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|"
    r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
    r"(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|site|online|link|click|shop|app|dev|me|us|uk"
    r"|de|fr|example|test|invalid|localhost)\b|"
    r"\b[a-z0-9-]+\.[a-z]{2,}/",
    re.IGNORECASE,
)


def validate_person_name(value: str) -> None:
    """Refuse a first or last name that carries a web address.

    A name is printed into the company's own emails; a link there is a phishing link with
    our signature on it (and bots fill name fields with links).
    """
    if _WEB_ADDRESS.search(value):
        raise ValidationError(NAME_WITH_WEB_ADDRESS, code="web_address")
