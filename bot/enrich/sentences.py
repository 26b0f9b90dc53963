"""Sentence splitting and outlook language.

Owns `split_sentences` (text -> sentences exactly as written, whitespace normalised) and
`is_forward_looking`. A split happens only at whitespace after ".", "!", "?" or an ellipsis (and any
closing quotes or brackets), before something that can start a sentence. It does not happen after
abbreviations that never end a sentence ("Dr.", "e.g.", "No.", "Jan.", initials) and, after those that
often don't ("U.S.", "D.C.", "Inc."), only when the next word is not one that typically follows them
("U.S. President", "U.S. Congress"). Joining the sentences with single spaces gives back the text
with its whitespace collapsed: nothing is dropped, moved or rewritten.
"""

from __future__ import annotations

import re
from typing import Final

# The end of a sentence: terminal punctuation, closing quotes/brackets, then whitespace, then a
# sentence start (capital letter or digit, possibly after an opening quote or bracket).
# Run on whitespace-normalised text, so one space separates sentences; tried only where one of
# the marks stands (str.find finds those faster than a regex scan does).
# _boundary_end reads this by hand (the pattern stays as its definition, and for the tests).
_BOUNDARY: Final = re.compile(r"[.!?…][.!?…\"”’'»)\]]*(?= [\"“‘'«(\[]*[^\W_a-z])")
_TERMINAL_MARKS: Final = (".", "!", "?", "…")
_RUN_OF_MARKS: Final = ".!?…\"”’'»)]"  # what may follow the first mark before the space
_OPENERS: Final = "\"“‘'«(["  # what may stand between the space and the next sentence's first character
_DOTTED_LETTERS: Final = re.compile(r"(?:[a-z]\.)+[a-z]")  # "u.s.a", "e.u": what is left of "U.S.A."

# Abbreviations that never end a sentence: a title, a reference, a month before its day.
_NEVER_FINAL: Final = frozenset(
    """mr mrs ms dr prof sr jr st mt gen lt col maj capt cmdr adm sgt cpl pvt gov sen rep pres amb
    rev fr hon messrs mme mlle no nos vol vols pp p para paras art arts fig figs ch sec secs ed eds
    vs v cf approx ca est dept univ assn corp jan feb mar apr jun jul aug sep sept oct nov dec
    e.g i.e viz al""".split()
)
# Abbreviations that end a sentence when the next word does not continue the name.
_MAYBE_FINAL: Final = frozenset("u.s u.s.a u.k u.n e.u d.c inc ltd co etc plc llc bros a.m p.m".split())
_CONTINUES_ABBREVIATION: Final = frozenset(
    """President Vice Congress Congressional Senate Senator House Representative State Secretary
    Department Army Navy Air Marine Marines Coast Space Forces Force Defense Treasury Trade Ambassador
    Embassy Envoy Special Government Administration Central Command Agency Federal Supreme Court
    Commerce Export Energy Development International National Institute Geological Chamber Census
    Customs Border Immigration Strategic Military Dollar Dollars Intelligence Capitol Mission Office
    Foreign Policy Treasuries Steel Bank Bureau Council Security General Inspector""".split()
)

# Outlook language, in lower case. The same list drives this module's regex (for text read alone)
# and the gazetteer's matcher (in enrich(), where it costs nothing more than the entity scan).
FORWARD_PHRASES: Final = (
    "will", "won't", "shall", "is likely", "are likely", "likely to", "unlikely to", "could", "may",
    "might", "expected to", "is expected", "are expected", "can be expected", "looking ahead",
    "in the coming", "in the future", "going forward", "is set to", "are set to", "planned for",
    "plans to", "planning to", "is poised to", "are poised to", "poised to", "is to be", "are to be",
    "upcoming", "next year", "next month", "forecast", "projected to", "intends to", "intend to",
    "aims to", "aim to", "prospect for", "prospects for", "prospect of", "prospects of",
    "in the medium term", "in the long term", "in the short term", "over the long term",
    "scheduled for", "scheduled to", "due to be", "due to take", "due to hold", "due to start",
    "due to begin", "due to open", "due to visit", "due to sign", "would likely", "risk becoming",
    "risks becoming", "next spring", "next summer", "next autumn", "next fall", "next winter",
    "next week", "in the months ahead", "in the years ahead", "in the coming months",
    "in the coming years", "is bound to", "are bound to",
)  # fmt: skip
# Written in lower case only: "May" is a month.
LOWERCASE_ONLY: Final = frozenset({"may"})


def _phrase_pattern(phrase: str) -> str:
    words = [re.escape(word).replace("'", "['’]") for word in phrase.split()]
    body = r"\s+".join(words)
    return body if phrase in LOWERCASE_ONLY else f"(?i:{body})"


_FORWARD: Final = re.compile(r"\b(?:" + "|".join(_phrase_pattern(p) for p in FORWARD_PHRASES) + r")\b")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` in order, each exactly as written with its whitespace collapsed."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        sentences.extend(split_paragraph(paragraph))
    return sentences


def split_paragraph(paragraph: str) -> list[str]:
    """The sentences of one paragraph (text without blank lines)."""
    text = _normalised(paragraph)  # whitespace normalised once: sentences are then slices
    pieces: list[str] = []
    start = 0
    consumed = 0
    for position in _terminal_marks(text):
        if position < consumed:
            continue  # inside the run of marks of the boundary before ("?!", "...")
        end = _boundary_end(text, position)
        if end == -1:
            continue
        consumed = end
        if not _ends_sentence(text, position, end):
            continue
        pieces.append(text[start:end])
        start = end + 1  # the one space between two sentences
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _boundary_end(text: str, position: int) -> int:
    """Where _BOUNDARY.match(text, position) ends, or -1 where it does not match.

    Read by hand: a regex call costs more than this whole walk. The run of marks is greedy and
    none of its characters is a space, so a shorter run can never be followed by the space.
    """
    size = len(text)
    if position >= size or text[position] not in _TERMINAL_MARKS:
        return -1
    end = position + 1
    while end < size and text[end] in _RUN_OF_MARKS:
        end += 1
    if end >= size or text[end] != " ":
        return -1
    look = end + 1
    while look < size and text[look] in _OPENERS:
        look += 1
    if look >= size:
        return -1
    first = text[look]
    # [^\W_a-z]: a word character (re's \w is isalnum() or "_") other than "_" and ASCII a-z.
    if not first.isalnum() or "a" <= first <= "z":
        return -1
    return end


def _normalised(paragraph: str) -> str:
    """The paragraph with its whitespace collapsed to single spaces, as " ".join(p.split()) gives.

    Paragraphs usually come normalised already; checking costs far less than splitting into words
    and joining them again. A printable string holds no whitespace but the ASCII space (true of
    every code point: tests/test_enrich_scanning.py).
    """
    if paragraph.isprintable() and "  " not in paragraph and paragraph[:1] != " " and paragraph[-1:] != " ":
        return paragraph
    return " ".join(paragraph.split())


def _terminal_marks(text: str) -> list[int]:
    """Where ".", "!", "?" and "…" stand, in order: the only places a sentence can end.

    str.find runs at memory speed; a regex scan pays for every character it looks at. The anchored
    _boundary_end at each of these positions finds exactly what _BOUNDARY.finditer would.
    """
    positions: list[int] = []
    for mark in _TERMINAL_MARKS:
        position = text.find(mark)
        while position != -1:
            positions.append(position)
            position = text.find(mark, position + 1)
    if len(positions) > 1:
        positions.sort()
    return positions


def _ends_sentence(text: str, punct_start: int, end: int) -> bool:
    if text[punct_start] != ".":
        return True  # "!", "?" and ellipses end sentences here; abbreviations take a single "."
    if text.startswith("...", punct_start) and not text.startswith("....", punct_start):
        return True
    if text[max(0, punct_start - 7) : punct_start].isalpha() and punct_start >= 7:
        return True  # a word of seven letters or more is no abbreviation
    # The word the mark ends (the text is normalised: words are separated by single spaces).
    floor = max(0, punct_start - 40)
    space = text.rfind(" ", floor, punct_start)
    word = text[(floor if space == -1 else space + 1) : punct_start + 1].lstrip("\"“‘'«([")
    bare = word.rstrip(".").lower()
    if not bare:
        return True
    if bare in _NEVER_FINAL:
        return False
    if len(bare) == 1 and bare.isalpha() and word[0].isupper():
        return False  # an initial: "John F. Kennedy"
    if bare in _MAYBE_FINAL or _DOTTED_LETTERS.fullmatch(bare):
        following = text[end:].split(None, 1)
        next_word = following[0].strip("\"“‘'«([") if following else ""
        return next_word not in _CONTINUES_ABBREVIATION
    return True


def is_forward_looking(sentence: str) -> bool:
    """Whether a sentence looks ahead: "will", "is likely to", "could", "planned for"..."""
    return _FORWARD.search(sentence) is not None
