"""Which URLs the server may POST to: the guard against server-side request forgery.

A marketer types the URL (a webhook endpoint, the sales hand-off's Slack-style webhook), and
our server then POSTs to it from inside our network. Without these rules an endpoint such as
http://169.254.169.254/ (cloud metadata), http://10.0.0.5/ (an internal service) or
http://localhost:6379/ would make leadfunnel attack its own side of the firewall. The rules:

- https:// only; http:// only to a loopback host (development) or when WEBHOOKS_ALLOW_HTTP
  is on.
- No user name or password in the URL.
- Every address the host resolves to must be a public (globally routable) one: loopback,
  private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10),
  shared, reserved, multicast and unspecified addresses are refused, unless
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS is on (development, tests).
- An IPv6 address that carries an IPv4 address the network delivers to (IPv4-compatible
  ::/96, IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96) is
  judged by that IPv4 address: [::7f00:1] is 127.0.0.1, [64:ff9b::a9fe:a9fe] is
  169.254.169.254. The other transition ranges (local-use NAT64 64:ff9b:1::/48, 6to4
  2002::/16, Teredo 2001::/32) are refused whole: which IPv4 host they reach depends on
  local prefixes and tunnel relays, so no address in them can be judged.
- The check runs when the URL is saved and again at every send, and the connection goes
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
# IPv6 ranges whose last 32 bits are an IPv4 address that the kernel, a SIIT translator or a
# NAT64 gateway delivers to.
IPV4_CARRYING = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
IPV6_LOOPBACK = ipaddress.IPv6Address("::1")
# Transition ranges refused whole (see the module's docstring).
TRANSITION_REFUSED = tuple(
    ipaddress.IPv6Network(network) for network in ("64:ff9b:1::/48", "2002::/16", "2001::/32")
)


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
    """Model field validator: the rules that can be checked when the URL is saved.

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
        reason = _refusal(address)
        if reason:
            raise UnsafeURL(
                f"{host} points to {address}, {reason}; webhooks go to public addresses only."
            )
    return addresses


def _refusal(address: IPAddress) -> str:
    """Why `address` may not be connected to, as the end of a sentence; "" if it may."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        return "the unspecified address" if address.is_unspecified else ""
    if isinstance(address, ipaddress.IPv6Address):
        if address == IPV6_LOOPBACK:
            # ::1 lies inside ::/96 (IPv4-compatible): it is this machine, not 0.0.0.1.
            # (Not is_loopback: Python counts a mapped ::ffff:127.0.0.1 as loopback too,
            # which the carried-address rule below names better.)
            return "a private or reserved address (the loopback address, this server itself)"
        if any(address in network for network in TRANSITION_REFUSED):
            return "a private or reserved address (an IPv6 transition range: 6to4, Teredo, NAT64)"
        if any(address in network for network in IPV4_CARRYING):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            if not _public(inner):
                return f"a private or reserved address (it carries the IPv4 address {inner})"
            return ""
    return "" if _public(address) else "a private or reserved address"


def _public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def _is_loopback_name(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
