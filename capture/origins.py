"""The sites allowed to embed a landing page's form: parsed and validated in one place.

They end up in the embed's `Content-Security-Policy: frame-ancestors`, so only a bare
`https://host[:port]` is kept: anything else (";", quotes, paths) could add CSP directives, and
an `http://` parent page can be rewritten by anyone on its network to frame the form.
"""

import re

from django.core.exceptions import ValidationError

_EMBED_ORIGIN = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def embed_origins_in(text: str) -> list[str]:
    """The valid origins of a page's list, in order; invalid lines (older rows) are dropped."""
    return [origin for origin in text.split() if _EMBED_ORIGIN.fullmatch(origin)]


def validate_embed_origins(text: str) -> None:
    """The model field's validator, so the admin form and the API refuse the same lines."""
    errors = []
    for origin in text.split():
        if _EMBED_ORIGIN.fullmatch(origin):
            continue
        if origin.lower().startswith("http://"):
            errors.append(f"“{origin}” is not https: only https:// sites may embed the form.")
        else:
            errors.append(f"“{origin}” is not an origin like https://example.com")
    if errors:
        raise ValidationError(errors)
