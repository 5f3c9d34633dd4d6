import pytest

from nurture.services.sms_segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("Café à Zürich, 10 £ @ 9h", "GSM-7", 1, 24),  # accents of GSM's own alphabet
        ("€" * 80, "GSM-7", 1, 160),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2, 162),
        # Naively ceil(306 / 153) = 2, but the escaped € cannot straddle the split.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),
        ("It’s here", "UCS-2", 1, 9),  # one curly apostrophe turns it all into UCS-2
        ("ł" * 70, "UCS-2", 1, 70),
        ("ł" * 71, "UCS-2", 2, 71),
        ("ł" * 134, "UCS-2", 2, 134),
        ("😀" * 35, "UCS-2", 1, 70),  # outside the BMP: a surrogate pair, two units
        # A surrogate pair is not split either: naively 2 segments.
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 3, 134),
    ],
)
def test_it_counts_segments_as_carriers_bill_them(
    text: str, encoding: str, segments: int, units: int
) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments, count.units) == (encoding, segments, units)


def test_it_says_how_much_one_segment_holds_at_this_length() -> None:
    assert count_segments("hello").per_segment == 160
    assert count_segments("a" * 200).per_segment == 153
    assert count_segments("привет").per_segment == 70
    assert count_segments("п" * 71).per_segment == 67
