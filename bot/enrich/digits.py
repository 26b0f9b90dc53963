"""Where the numbers are: the spans that dates (years) and figures (amounts) hang on.

Owns `number_spans` and `digit_runs`. Both read a copy of the text in which every ASCII digit is
"0" (one byte per character, so positions carry over) and find the zeros with bytes.find, which
runs at memory speed; a regex scan for a character class pays for every character it looks at, and
an article is some 5,000 characters with a few dozen numbers.
"""

from __future__ import annotations

from typing import Final

# Digits become "0"; "," and "." stay (they continue a number: "1,200.5"); all else is a space.
_NUMBER_TABLE: Final = bytes(
    0x30 if 0x30 <= b <= 0x39 else b if b in (0x2C, 0x2E) else 0x20 for b in range(256)
)
_DIGIT_TABLE: Final = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))


def ascii_copy(text: str) -> bytes:
    """The text with every character outside ASCII a "?": one byte per character, same positions."""
    return text.encode("ascii", "replace")


def number_spans(marked: bytes) -> list[tuple[int, int]]:
    """(start, end) of every `[0-9][0-9,.]*` in a text, given its ascii_copy, as re.finditer finds them."""
    return _spans(marked.translate(_NUMBER_TABLE))


def digit_runs(marked: bytes) -> list[tuple[int, int]]:
    """(start, end) of every maximal run of ASCII digits in a text, given its ascii_copy."""
    return _spans(marked.translate(_DIGIT_TABLE))


def _spans(marked: bytes) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    size = len(marked)
    start = marked.find(b"0")
    while start != -1:
        end = start + 1
        while end < size and marked[end] != 0x20:
            end += 1
        spans.append((start, end))
        start = marked.find(b"0", end)
    return spans
