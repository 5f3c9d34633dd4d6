"""SSRF: webhooks go to public https addresses only, checked at save and at every send."""

import re
import socket
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from leadfunnel.outbound.safety import UnsafeURL, resolve_target, validate_webhook_url
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.ipv6 import IPV6_CARRYING_PRIVATE_IPV4
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import EventType, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    settings.WEBHOOKS_ALLOW_HTTP = False


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The outside world's DNS, as the test says: name → addresses (space-separated)."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def lookup(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in answers[host].split()
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return answers


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hooks", "Use https://"),
        ("ftp://93.184.215.14/", "full https:// URL"),
        ("https://user:pw@93.184.215.14/", "user name and password"),
        ("https://169.254.169.254/latest/meta-data/", "private or reserved"),
        ("https://10.0.0.5/", "private or reserved"),
        ("https://192.168.1.10:8443/", "private or reserved"),
        ("https://127.0.0.1/", "private or reserved"),
        ("https://[::1]/", r"private or reserved address \(the loopback address"),
        ("https://[::ffff:127.0.0.1]/", "private or reserved"),
        ("https://[fe80::1]/", "private or reserved"),
        ("https://100.64.0.1/", "private or reserved"),
        ("https://0.0.0.0/", "private or reserved"),
        ("https://localhost/", "private or reserved"),
    ],
)
@pytest.mark.usefixtures("production")
def test_it_refuses_urls_that_reach_inside_the_network(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_webhook_url(url)


@pytest.mark.usefixtures("production")
def test_it_accepts_a_public_https_address_and_pins_it() -> None:
    validate_webhook_url("https://93.184.215.14/hooks?x=1")
    target = resolve_target("https://93.184.215.14:8443/hooks?x=1")
    assert (target.addresses, target.port, target.path) == (("93.184.215.14",), 8443, "/hooks?x=1")
    assert target.host_header == "93.184.215.14:8443"


@pytest.mark.usefixtures("production")
def test_a_name_that_resolves_to_a_private_address_is_refused(dns: dict[str, str]) -> None:
    dns["hooks.attacker.example"] = "93.184.215.14 10.1.2.3"  # one bad answer is enough
    with pytest.raises(ValidationError, match=r"10\.1\.2\.3"):
        validate_webhook_url("https://hooks.attacker.example/")


def test_http_is_for_loopback_hosts_unless_allowed(settings: Any) -> None:
    validate_webhook_url("http://127.0.0.1:8000/hooks")
    validate_webhook_url("http://localhost:8000/hooks")
    with pytest.raises(ValidationError, match="Use https://"):
        validate_webhook_url("http://93.184.215.14/hooks")
    settings.WEBHOOKS_ALLOW_HTTP = True
    validate_webhook_url("http://93.184.215.14/hooks")


@pytest.mark.usefixtures("production")
def test_a_name_that_rebinds_to_a_private_address_later_is_refused_at_send_time(
    receiver: Receiver, dns: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    dns["hooks.attacker.example"] = "93.184.215.14"
    url = f"https://hooks.attacker.example:{receiver.port}/hooks"
    validate_webhook_url(url)  # public when the marketer saved it …
    EndpointFactory(url=url)
    dns["hooks.attacker.example"] = "127.0.0.1"  # … loopback when it is sent
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_event(type=EventType.LEAD_HOT, payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.last_error.startswith("Refused: hooks.attacker.example points to 127.0.0.1")
    assert receiver.received == []


def test_it_connects_to_the_checked_address_and_names_the_host(
    receiver: Receiver,
    dns: dict[str, str],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.WEBHOOKS_ALLOW_HTTP = True
    # The first address refuses (nothing listens on 127.0.0.2): the next one is tried.
    dns["hooks.partner.example"] = "127.0.0.2 127.0.0.1"
    EndpointFactory(
        url=f"http://hooks.partner.example:{receiver.port}/in?src=lf", secret=receiver.secret
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_event(type=EventType.LEAD_HOT, payload={})
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.partner.example:{receiver.port}"
    assert got.path == "/in?src=lf" and got.signature_valid


def test_an_unresolvable_host_can_be_saved_and_is_refused_at_send_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    validate_webhook_url("https://hooks.not-yet.example/")
    with pytest.raises(UnsafeURL, match=r"Could not resolve hooks\.not-yet\.example"):
        resolve_target("https://hooks.not-yet.example/")


@pytest.mark.parametrize(("address", "reason"), IPV6_CARRYING_PRIVATE_IPV4)
@pytest.mark.usefixtures("production")
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_refused_at_save_and_at_send(
    receiver: Receiver, django_capture_on_commit_callbacks: Any, address: str, reason: str
) -> None:
    url = f"https://[{address}]:{receiver.port}/hooks"
    with pytest.raises(ValidationError, match=re.escape(reason)):
        validate_webhook_url(url)
    EndpointFactory(url=url)  # saved before the guard knew these forms
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_event(type=EventType.LEAD_HOT, payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.last_error.startswith(f"Refused: {address} points to ")
    assert reason in delivery.last_error
    assert receiver.received == []


@pytest.mark.parametrize(
    "address",
    ["::ffff:93.184.215.14", "64:ff9b::5db8:d70e", "::ffff:0:5db8:d70e", "2606:2800:21f::1"],
)
@pytest.mark.usefixtures("production")
def test_an_ipv6_address_carrying_a_public_ipv4_one_or_none_is_accepted(address: str) -> None:
    """NAT64 (a DNS64 resolver on an IPv6-only host answers so) reaches a public host."""
    validate_webhook_url(f"https://[{address}]/hooks")
    assert resolve_target(f"https://[{address}]/hooks").addresses == (address,)
