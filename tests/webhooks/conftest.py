from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver
from webhooks.models import Endpoint


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    # The receiver listens on 127.0.0.1: the SSRF guard would (rightly) refuse it.
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 2.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(receiver: Receiver) -> Endpoint:
    """An active endpoint on the local receiver, subscribed to every event."""
    return EndpointFactory(url=receiver.url, secret=receiver.secret)
