"""How many SMS segments a text costs, for the marketer editing an SMS node.

A text that fits the GSM 03.38 alphabet goes as GSM-7: 160 characters in one segment, 153
per segment once it is split (the rest carries the concatenation header). One character
outside it (an emoji, a curly quote, "ł") turns the whole text into UCS-2: 70 in one, 67
per segment. Characters of GSM's extension table cost two septets, and a split never
falls between the two halves of an escape or of a UTF-16 surrogate pair, so the greedy
packing below counts what carriers bill.
"""

from dataclasses import dataclass
from typing import Literal

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]
_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PER_PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    segments: int
    # Septets (GSM-7) or UTF-16 code units (UCS-2): what the limits below count.
    units: int
    # Units one segment holds at this length (160/70 for one, 153/67 once split).
    per_segment: int


def count_segments(text: str) -> SegmentCount:
    """The encoding, segment count and length of `text` as an SMS (0 segments when empty)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text):
        encoding: Encoding = "GSM-7"
        sizes = [2 if char in _GSM_EXTENSION else 1 for char in text]
    else:
        encoding = "UCS-2"
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    units = sum(sizes)
    if units <= _SINGLE[encoding]:
        segments = 1 if units else 0
        return SegmentCount(
            encoding=encoding, segments=segments, units=units, per_segment=_SINGLE[encoding]
        )
    limit = _PER_PART[encoding]
    segments, used = 1, 0
    for size in sizes:
        if used + size > limit:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding=encoding, segments=segments, units=units, per_segment=limit)
