"""Schemathesis over the whole OpenAPI schema, in process against the WSGI app.

Every operation /api/schema/ documents (other areas' endpoints included) gets a few
generated requests, valid and invalid, as a superuser's token: none may answer 5xx, and
every answer must have a documented status code and match the documented body. Bounded
(a few derandomized examples per operation) to stay around a minute.

Driven by hand rather than by `schema.parametrize()`: the lazy pytest integration of
schemathesis 4.32 breaks on pytest 9 (it writes `node._nodeid`), and a schema loaded at
import time could not see the test database.
"""

from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.throttling import TokenRateThrottle
from leadfunnel.wsgi import application
from nurture.services.scheduling import enroll_lead
from tests.api.conftest import superuser
from tests.factories import CampaignFactory, LandingPageFactory, LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis' WSGI client sends
    # The run is hundreds of requests on one token: not what throttling is tested by.
    monkeypatch.setattr(
        TokenRateThrottle,
        "THROTTLE_RATES",
        {**TokenRateThrottle.THROTTLE_RATES, "user": "100000/min"},
    )
    # As Django's test client does: the end of a request would otherwise close the
    # connection that holds the test's transaction.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def _some_data() -> None:
    """A few real objects, so small generated ids sometimes find one."""
    page = LandingPageFactory(campaign=CampaignFactory())
    for _ in range(3):
        enroll_lead(lead=LeadFactory(), sequence=playbook_sequence(page=page))


def _run(operation: Any, mode: GenerationMode, call: Callable[[Any], None]) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def examples(case: Any) -> None:
        call(case)

    examples()


def test_every_operation_answers_as_documented(api_schema: Any) -> None:
    _some_data()
    headers = {"Authorization": f"Token {Token.objects.create(user=superuser()).key}"}

    def call(case: Any) -> None:
        # Each request in a savepoint: a request that fails half-way cannot poison the next.
        with transaction.atomic():
            case.call_and_validate(headers=headers, checks=CHECKS)

    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in EXAMPLES:
            try:
                _run(operation, mode, call)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # schemathesis' FailureGroup: reported all at once
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert operations >= 30, "the schema lost operations"
    assert not failures, "\n\n".join(failures)
