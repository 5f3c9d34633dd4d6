"""Every CSV export neutralises formulas with one rule (leadfunnel.csvcells)."""

import pytest

from leadfunnel.csvcells import neutralise_csv_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise_csv_cell(value: object, expected: str) -> None:
    assert neutralise_csv_cell(value) == expected
