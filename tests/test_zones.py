"""Time-zone names are checked, and zones read back, by one module (leadfunnel.zones)."""

from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from leadfunnel.zones import TIME_ZONE_HELP, UTC, is_time_zone, validate_time_zone, zone_or


@pytest.mark.parametrize("name", ["Europe/Paris", "America/New_York", "UTC"])
def test_it_knows_iana_names(name: str) -> None:
    assert is_time_zone(name)
    assert validate_time_zone(name) == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "europe/paris", "Europe/Paris ", "../etc/passwd", "a\x00b", None]
)
def test_it_refuses_anything_else_with_one_message(name: str | None) -> None:
    assert not is_time_zone(name)
    with pytest.raises(ValidationError) as refused:
        validate_time_zone(name)  # type: ignore[arg-type]
    assert refused.value.messages == [TIME_ZONE_HELP]


def test_a_zone_read_back_falls_back_in_order_and_never_raises() -> None:
    assert zone_or("Europe/Paris", "Asia/Tokyo") == ZoneInfo("Europe/Paris")
    assert zone_or("", "Mars/Olympus", None, "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone_or("../etc/passwd", "a\x00b") is UTC
    assert zone_or() is UTC
    assert zone_or("Mars/Olympus", default=ZoneInfo("Europe/Berlin")) == ZoneInfo("Europe/Berlin")
