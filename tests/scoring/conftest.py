from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from scoring.models import ScoringConfig

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Any:
    """Time stands still at NOW (activities' ages are exact)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def config(db: None) -> ScoringConfig:
    config, _ = ScoringConfig.objects.get_or_create(pk=1)
    return config
