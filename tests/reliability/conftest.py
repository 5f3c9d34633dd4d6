from collections.abc import Iterator

import pytest

from capture.models import LandingPage
from nurture.models import Sequence
from tests.factories import LandingPageFactory, playbook_sequence
from tests.processes import PrivateRedis, SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@pytest.fixture
def page(transactional_db: None) -> LandingPage:
    """A plain page (email and name only) with the five-step sequence, every day allowed."""
    landing = LandingPageFactory(
        slug="reliable", fields_shown=["first_name"], fields_required=[],
        qualifying_question="", consent_text="",
    )  # fmt: skip
    sequence: Sequence = playbook_sequence(page=landing, weekdays=list(range(7)))
    sequence.window_start_hour, sequence.window_end_hour = 0, 24
    sequence.save()
    return landing
