from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from capture.models import LandingPage
from nurture.models import Sequence
from tests.factories import LandingPageFactory, playbook_sequence
from tests.processes import PrivateRabbit, PrivateRedis, SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@dataclass(frozen=True)
class Broker:
    name: str
    url: str
    cache_url: str


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, redis: PrivateRedis) -> Iterator[Broker]:
    """The fault tests' broker: Redis, and RabbitMQ (a vhost of our own); the cache and rate
    limits stay on a private Redis either way."""
    if request.param == "redis":
        yield Broker("redis", redis.url, redis.url)
        return
    if not PrivateRabbit.available():
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (see the developers' guide)")
    with PrivateRabbit() as rabbit:
        yield Broker("rabbitmq", rabbit.url, redis.url)


@pytest.fixture
def page(transactional_db: None) -> LandingPage:
    """A plain page (email and name only) with the five-step sequence, every day allowed."""
    landing = LandingPageFactory(
        slug="reliable",
        fields_shown=["first_name"],
        fields_required=[],
        qualifying_question="",
        consent_text="",
    )
    sequence: Sequence = playbook_sequence(page=landing, weekdays=list(range(7)))
    sequence.window_start_hour, sequence.window_end_hour = 0, 24
    sequence.save()
    return landing
