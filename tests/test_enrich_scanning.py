"""The fast candidate finders of enrichment agree with the plain regex scans they replaced.

Sentence ends, date triggers and numbers used to be found by re.finditer over the whole text; they
are now found by str/bytes searches plus anchored matches (much cheaper per character). The regexes
are kept here as the reference, and Hypothesis looks for any text on which the two disagree.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enrich.digits import ascii_copy, digit_runs, number_spans
from bot.enrich.events import _MONTHS, _relative_spans, date_triggers
from bot.enrich.gazetteer import _collapse_spaces
from bot.enrich.sentences import (
    _BOUNDARY,
    _boundary_end,
    _ends_sentence,
    _normalised,
    split_paragraph,
)

REFERENCE_NUMBER = re.compile(r"[0-9][0-9,.]*")
REFERENCE_DIGITS = re.compile(r"[0-9]+")
# The trigger regex of the date finder before, with ASCII digits (see test below).
REFERENCE_TRIGGER = re.compile(
    r"[ADFJMNOS12](?:(?<=[ADFJMNOS])(?:anuary|ebruary|arch|pril|ay|une|uly|ugust|eptember|"
    r"ctober|ovember|ecember|an\.|eb\.|ar\.|pr\.|un\.|ul\.|ug\.|ept?\.|ct\.|ov\.|ec\.)"
    r"|(?<=[12])[0-9][0-9][0-9])"
)

TOKENS = [
    "In", "June", "Jun.", "Sept.", "September", "Mayor", "May", "March", "Mar.", "Marine", "Dec.",
    "2024", "1992", "12", "12,400.5", "3.5", "20251", "1,2", ".", ",", "!", "?", "…", "...", "?!",
    "U.S.", "Dr.", "e.g.", "A.", "said", "“Yes.”", "(see", "page)", "’", "–", "$5", "€2", "x", "Z",
    "\u00a0", "Türkiye", "0", "9,", "1.", "2.", "Aay", "Dune", "Octane", "last year", "this month",
]  # fmt: skip
texts = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.text(alphabet="0123456789,. .!?…”’)JMSDayuneptAa12\x01“«(é_z", max_size=80),
)


def reference_split(paragraph: str) -> list[str]:
    text = " ".join(paragraph.split())
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if not _ends_sentence(text, match.start(), end):
            continue
        pieces.append(text[start:end])
        start = end + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


@settings(max_examples=400, deadline=None)
@given(texts)
def test_numbers_are_found_as_the_regex_finds_them(text: str) -> None:
    assert number_spans(ascii_copy(text)) == [m.span() for m in REFERENCE_NUMBER.finditer(text)]
    assert digit_runs(ascii_copy(text)) == [m.span() for m in REFERENCE_DIGITS.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_date_triggers_are_found_as_the_regex_finds_them(text: str) -> None:
    # The regex paired letters loosely ("Aay", "Dune") and left it to the reader to drop those.
    reference = [
        (start, end)
        for start, end in (m.span() for m in REFERENCE_TRIGGER.finditer(text))
        if text[start].isdigit() or text[start:end].rstrip(".").lower() in _MONTHS
    ]
    assert date_triggers(text) == sorted(reference + _relative_spans(text))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_sentences_split_as_the_regex_scan_splits_them(text: str) -> None:
    assert split_paragraph(text) == reference_split(text)


def test_only_ascii_digits_make_numbers() -> None:
    """The one difference from the old `\\d`: digits of other scripts are not numbers or years."""
    assert number_spans(ascii_copy("in ٢٠٢٤ and 2024")) == [(12, 16)]
    assert date_triggers("in ٢٠٢٤ and 2024") == [(12, 16)]


def test_examples() -> None:
    text = "Since June 2024, the Mayor paid $12,400.5 in 20251 and 1992."
    assert [text[s:e] for s, e in date_triggers(text)] == [
        "June", "2024", "May", "2025", "1992",
    ]  # fmt: skip
    assert [text[s:e] for s, e in number_spans(ascii_copy(text))] == ["2024,", "12,400.5", "20251", "1992."]
    assert split_paragraph("He left. U.S. President Biden spoke! Then?  “Yes.” (A. Smith) agreed.") == [
        "He left.",
        "U.S. President Biden spoke!",
        "Then?",
        "“Yes.”",
        "(A. Smith) agreed.",
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b" ")) | st.text(alphabet=" ab", max_size=40).map(str.encode))
def test_runs_of_spaces_collapse_as_a_regex_would(text: bytes) -> None:
    assert _collapse_spaces(text) == re.sub(b" {2,}", b" ", text)


def test_printable_text_holds_no_whitespace_but_the_space() -> None:
    """What sentences._normalised relies on to skip re-normalising a paragraph."""
    offenders = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() and chr(code) != " " and chr(code).isprintable()
    ]
    assert offenders == []


SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([*SPACES, "a", "b", ".", "?", "é", "“", "\x7f", "\x00"]), max_size=30))
def test_paragraphs_are_normalised_as_split_and_join_would(text: str) -> None:
    assert _normalised(text) == " ".join(text.split())


BOUNDARY_ALPHABET = ".!?…\"”’'»)]“‘«([ aAzZ_0é\u00c9\u0661x"


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=BOUNDARY_ALPHABET, max_size=12), st.integers(min_value=0, max_value=12))
def test_the_boundary_is_read_as_the_regex_matches_it(text: str, position: int) -> None:
    match = _BOUNDARY.match(text, position) if position < len(text) else None
    assert _boundary_end(text, position) == (match.end() if match else -1)


@settings(max_examples=400, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=30), st.randoms(use_true_random=False))
def test_matches_come_out_leftmost_then_longest_whatever_order_they_go_in(pairs, random) -> None:
    from bot.enrich.gazetteer import _Matches

    found = sorted(pairs, key=lambda p: (p[0] + p[1], -p[1]))  # the automaton's order: by end
    if random.random() < 0.5:
        random.shuffle(found)
    matches = _Matches()
    for start, size in found:
        matches.add(start, start + size, ())
    expected = sorted(pairs, key=lambda p: (p[0], -p[1]))
    assert list(zip(matches.starts, matches.ends, strict=True)) == [(s, s + n) for s, n in expected]
