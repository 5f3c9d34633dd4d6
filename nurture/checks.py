"""`manage.py check --deploy`: settings that would send mail no inbox trusts, or unlawfully.

A placeholder sender domain (localhost, example.com, *.test …) can publish no SPF, DKIM or
DMARC record, so receivers junk or refuse the mail; marketing email without the sender's
real postal address breaks CAN-SPAM. Both pass every test, so only a deploy check sees them.
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from leadfunnel.mail import sender_domain

# RFC 2606 and RFC 6761: names reserved so that they never resolve to a real mail domain.
RESERVED_DOMAINS = ("localhost", "example.com", "example.org", "example.net")
RESERVED_SUFFIXES = ("example", "localhost", "invalid", "test")
# settings.py's development default: present in every footer until an operator sets one.
PLACEHOLDER_POSTAL_ADDRESS = "leadfunnel · 1 Example Street · Springfield"


def is_placeholder_domain(domain: str) -> bool:
    """Reserved names, and single labels ("mailhost"): no public DNS can vouch for them."""
    domain = domain.lower().rstrip(".")
    return (
        "." not in domain
        or any(domain == name or domain.endswith(f".{name}") for name in RESERVED_DOMAINS)
        or domain.rpartition(".")[2] in RESERVED_SUFFIXES
    )


@register(Tags.mail, deploy=True)
def check_sender(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    domain = sender_domain(settings.DEFAULT_FROM_EMAIL)
    if is_placeholder_domain(domain):
        errors.append(
            Error(
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: {domain!r} is not a "
                "domain you can publish SPF, DKIM and DMARC for, so receivers will junk or "
                "refuse the mail.",
                hint="Set DEFAULT_FROM_EMAIL to an address at your own domain, e.g. "
                "'Acme <hello@acme.com>'.",
                id="nurture.E001",
            )
        )
    address = " ".join(settings.NURTURE_POSTAL_ADDRESS.split())
    if not address or address == PLACEHOLDER_POSTAL_ADDRESS:
        errors.append(
            Error(
                "NURTURE_POSTAL_ADDRESS is "
                + ("unset" if not address else f"the placeholder {address!r}")
                + ": every marketing email must show the sender's real postal address "
                "(CAN-SPAM).",
                hint="Set NURTURE_POSTAL_ADDRESS, e.g. 'Acme Ltd · 1 High Street · "
                "London EC1A 1AA'.",
                id="nurture.E002",
            )
        )
    dkim_domain = settings.DKIM_DOMAIN.lower().rstrip(".")
    if dkim_domain and not (domain == dkim_domain or domain.endswith(f".{dkim_domain}")):
        errors.append(
            Warning(
                f"DKIM_DOMAIN {dkim_domain!r} does not align with the sender's domain "
                f"{domain!r}: the signature verifies, but DMARC fails.",
                hint="Sign as the From domain or a parent of it.",
                id="nurture.W001",
            )
        )
    return errors
