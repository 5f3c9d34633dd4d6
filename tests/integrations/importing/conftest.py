from typing import Any

import pytest
from django.contrib.auth.models import User

from integrations.models import LeadImport
from integrations.services import importing
from tests.integrations.factories import marketer
from tests.integrations.importing.support import Runner


@pytest.fixture
def user() -> User:
    return marketer()


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Runner:
    """Start the import and run what it queues on commit (Celery is eager in tests)."""

    def start(lead_import: LeadImport) -> LeadImport:
        with django_capture_on_commit_callbacks(execute=True):
            importing.start_run(import_id=lead_import.pk, dry_run=False)
        lead_import.refresh_from_db()
        return lead_import

    return start
