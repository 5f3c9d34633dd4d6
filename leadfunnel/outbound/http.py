"""The one outside call: send a body to a URL, pinned to a checked address.

Every outbound request goes through `request` (webhooks, the sales hand-off's post, the ad
platforms' audience APIs, the twilio library's calls): a typed-in URL and a configured one
pass the same SSRF guard. The ESPs' APIs are anymail's to call (its own requests session, to
the provider's fixed host); nothing a user types reaches them as a URL.

urllib3 (what requests is built on, already a runtime dependency) is used directly because it
lets us connect to the address `safety.resolve_target` checked while still sending the host's
name in the Host header and TLS SNI and verifying the certificate against that name. requests
would resolve the name a second time, which a DNS-rebinding attacker could answer with
127.0.0.1. Redirects are not followed and at most RESPONSE_BYTES of the answer are read.
"""

import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3 import exceptions

from leadfunnel.outbound.safety import Target, UnsafeURL, resolve_target

RESPONSE_BYTES = 4096
USER_AGENT = "leadfunnel/1.0"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    response_ms: int | None = None
    response: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST `body`; never raises for what the network or the receiver does."""
    return request(method="POST", url=url, body=body, headers=headers, timeout=timeout)


def request(
    *,
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    response_bytes: int = RESPONSE_BYTES,
) -> Outcome:
    """Send `body` with `method`; never raises for what the network or the receiver does.

    At most `response_bytes` of the answer are read: a webhook receiver's answer is only
    shown to the marketer, an API's answer (JSON) is parsed and needs all of it.
    """
    try:
        target = resolve_target(url)
    except UnsafeURL as error:
        return Outcome(error=f"Refused: {error}")
    started = time.perf_counter()
    headers = {"User-Agent": USER_AGENT, **headers, "Host": target.host_header}
    *others, last = target.addresses
    for address in others:
        try:
            return _send_to(
                target,
                method=method,
                address=address,
                body=body,
                headers=headers,
                timeout=timeout,
                started=started,
                response_bytes=response_bytes,
            )
        except exceptions.NewConnectionError:
            continue  # e.g. localhost's ::1 refused: try its 127.0.0.1
    try:
        return _send_to(
            target,
            method=method,
            address=last,
            body=body,
            headers=headers,
            timeout=timeout,
            started=started,
            response_bytes=response_bytes,
        )
    except exceptions.NewConnectionError as error:
        reason = str(error).split(": ", 1)[-1]  # drop the pool's repr (it names the address)
        return Outcome(response_ms=_ms(started), error=f"Could not connect: {reason}")


def _send_to(
    target: Target,
    *,
    method: str,
    address: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    started: float,
    response_bytes: int,
) -> Outcome:
    """One try at one address; NewConnectionError is left to the caller (next address)."""
    pool = _pool(
        scheme=target.scheme, address=address, port=target.port, host=target.host, timeout=timeout
    )
    try:
        response = pool.urlopen(
            method,
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            text = response.read(response_bytes).decode("utf-8", errors="replace")
        finally:
            response.release_conn()
    except exceptions.NewConnectionError:
        # Before TimeoutError: urllib3 still makes this a subclass of ConnectTimeoutError.
        raise
    except exceptions.TimeoutError:
        return Outcome(response_ms=_ms(started), error=f"Timed out after {timeout:g} s.")
    except (exceptions.HTTPError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        return Outcome(response_ms=_ms(started), error=f"Could not connect: {reason}")
    finally:
        pool.close()
    status = response.status
    message = "" if 200 <= status < 300 else f"The receiver answered {status}."
    if 300 <= status < 400:
        message += " Redirects are not followed: register the final URL."
    return Outcome(status_code=status, response_ms=_ms(started), response=text, error=message)


def _pool(
    *, scheme: str, address: str, port: int, host: str, timeout: float
) -> urllib3.HTTPConnectionPool:
    limit = urllib3.Timeout(connect=timeout, read=timeout, total=timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port=port,
            timeout=limit,
            retries=False,
            maxsize=1,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return urllib3.HTTPConnectionPool(address, port=port, timeout=limit, retries=False, maxsize=1)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
