"""Which URLs a webhook may be sent to: the guard against server-side request forgery.

A marketer types the URL, and our server then POSTs to it from inside our network. Without
these rules an endpoint such as http://169.254.169.254/ (cloud metadata), http://10.0.0.5/
(an internal service) or http://localhost:6379/ would make leadfunnel attack its own side of
the firewall. The rules:

- https:// only; http:// only to a loopback host (development) or when WEBHOOKS_ALLOW_HTTP
  is on.
- No user name or password in the URL.
- Every address the host resolves to must be a public (globally routable) one: loopback,
  private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10),
  shared, reserved, multicast and unspecified addresses are refused, also when written as an
  IPv4-mapped IPv6 address, unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS is on (development, tests).
- The check runs when the endpoint is saved and again at every send, and the connection goes
  to the very address that was checked (no second DNS lookup a rebinding attacker could
  answer differently). Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


class UnsafeURL(ValueError):
    """The URL breaks a rule above; the message says which, in words for a marketer."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written, without brackets
    port: int
    path: str  # path and query, what goes on the request line
    host_header: str
    addresses: tuple[str, ...]  # the checked addresses to connect to, in resolver order


def validate_webhook_url(url: str) -> None:
    """Model field validator: the rules that can be checked when the endpoint is saved.

    A host that does not resolve (yet) is let through: the send-time check decides then.
    """
    try:
        parts = _parse(url)
        try:
            _addresses(parts)
        except socket.gaierror:
            return
    except UnsafeURL as error:
        raise ValidationError(str(error), code="unsafe_url") from error


def resolve_target(url: str) -> Target:
    """Check `url` against every rule and pick the address to connect to; raises UnsafeURL."""
    parts = _parse(url)
    try:
        addresses = _addresses(parts)
    except socket.gaierror as error:
        raise UnsafeURL(f"Could not resolve {parts.hostname}: {error.strerror}.") from error
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    host = parts.hostname or ""
    shown_host = f"[{host}]" if ":" in host else host
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=shown_host if port == default_port else f"{shown_host}:{port}",
        addresses=tuple(str(address) for address in addresses),
    )


def _parse(url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL("Use a full https:// URL.")
    if parts.username or parts.password:
        raise UnsafeURL("Leave the user name and password out of the URL; the secret signs.")
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError as error:
        raise UnsafeURL("The port in the URL is not a valid number.") from error
    if parts.scheme == "http" and not (
        settings.WEBHOOKS_ALLOW_HTTP or _is_loopback_name(parts.hostname)
    ):
        raise UnsafeURL("Use https://: plain http:// would send leads' data unencrypted.")
    return parts


def _addresses(parts: SplitResult) -> list[IPAddress]:
    host = parts.hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        if not _allowed(address):
            raise UnsafeURL(
                f"{host} points to {address}, a private or reserved address; "
                "webhooks go to public addresses only."
            )
    return addresses


def _allowed(address: IPAddress) -> bool:
    if settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        return not address.is_unspecified
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def _is_loopback_name(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
