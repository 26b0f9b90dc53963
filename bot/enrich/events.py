"""Dated events: every phrase that dates something, with its year settled, and the article's as-of date.

Owns `find_events` (used by the pipeline) and `infer_as_of_date`.

What is read as a date:
  - full dates "On October 8, 2024", "6 June 2025", "the November 9, 2020, trilateral agreement" (day);
  - months with a year "in June 2025", "A July 2025 poll", "mid-June 2025" (month);
    "In January and May 2025" gives TWO events, one per month, both with the written phrase;
  - years after a preposition or article "in 2018", "Since 2020", "before 2022", "the 2018 agreement",
    "the 1992 Freedom Support Act", "by 2027" (year); qualified years "Until late 2024", "mid-2024",
    "the first quarter of 2025" (year); a year range "2022–2023" (its start);
  - ranges "from September 2022 to mid-2024": ONE event at the start, the phrase spanning the range;
  - year-less dates "on 6 June", "October 9" (day), "in July", "the December plane incident" (month):
    the year comes from an explicit year earlier in the same sentence (else later in it), else from the
    previous sentence of the same paragraph, else the article's year, moved back one year when that
    would put the date after the article's own date. A context year after the article's year (an
    announced "June 2026") is not used as context. A year-less date that still lands after the
    article's date is dropped unless its sentence looks ahead;
  - "last year", "this year", "earlier this year", "last month" relative to the article's date.
What is not: decades ("the early 2000s"), bare years in names ("CASAREX 2025", still used as context
for year-less dates), "2,500 years ago", "44-day war", "Block-III", numbers with units ("2000 km").
Explicit future dates ("elections planned for June 2026") are kept: they are real and forward-looking.

Only the previous sentence (not the whole paragraph) lends its year: "In 2023, X ... [three sentences]
... In February, Y" is, in analytical prose, this year's February far more often than 2023's.

How: every date hangs on a trigger (a month name, a four-digit year, "last/this year/month"),
found by plain string and byte searches (no regex scans the whole text), once over the article's
sentences joined by a control character; the words around each trigger are read in place.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from types import MappingProxyType
from typing import Final

from bot.enrich.digits import ascii_copy, digit_runs
from bot.enrich.model import Precision, Section
from bot.enrich.sentences import is_forward_looking, split_paragraph

_MONTHS: Final = MappingProxyType({
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
})  # fmt: skip

# Every date hangs on a trigger: a month name, a four-digit year, or "last/this year/month". Month
# names are found by str.find of their first three letters and confirmed by an anchored pattern,
# years by the digit runs of bot.enrich.digits: no regex scans the whole text. Each trigger is then
# read in place with small anchored patterns.
# Both run on the text's ASCII copy (bot.enrich.digits.ascii_copy): bytes.find is the fastest search.
_MONTH_PREFIXES: Final = frozenset(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
)
# The capitals month names begin with become "*", all else a space: one memchr per candidate.
_MONTH_INITIALS: Final = bytes(0x2A if b in b"ADFJMNOS" else 0x20 for b in range(256))
_ONE_OR_TWO: Final = (0x31, 0x32)
_MONTH_AT: Final = re.compile(
    rb"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    rb"|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)

_M: Final = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept\.|Sep\.|Oct\.|Nov\.|Dec\.)"
)
_Y: Final = r"(?<![\w$€£₽.,/])(?:1[89]\d\d|20\d\d)(?![\w%]|[.,]\d|-\d)"
_D: Final = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_QUAL: Final = (
    r"(?:early|mid|late|the end of|end of|the beginning of|beginning of|the start of|"
    r"the (?:first|second) half of|the (?:first|second|third|fourth|last) quarter of)"
)
_LEAD_WORDS: Final = (
    "from|between|since|until|till|through|throughout|during|before|after|by|in|on|of|at|the|a|an|"
    "to|around|as of|as early as|last|this"
)
_YEAR_LEAD_WORDS: Final = frozenset(
    "in since by until till before after from during throughout of the a an around circa to "
    "between".split()
) | {"as of", "as early as"}
_MONTH_LEAD_WORDS: Final = frozenset(
    "in on since by until till from during through throughout after before of the last this to "
    "between early late mid".split()
)
_UNIT_AFTER: Final = re.compile(
    r"\s*(?:%|percent|per cent|km|kilomet|miles?\b|tons?\b|tonnes|bcm|MW|GW|barrels|people|troops|"
    r"soldiers|meters|metres|units|vehicles|dollars|euros|manat|rubles|roubles)"
)
_AFTER_DAY_MONTH: Final = re.compile(rf",?\s+({_Y})")
_AFTER_MONTH_DAY_YEAR: Final = re.compile(rf"\s+(?P<day>{_D})(?![\d\w])(?:,\s*|\s+)(?P<year>{_Y})")
_AFTER_MONTH_DAY: Final = re.compile(rf"\s+(?P<day>{_D})(?![\d\w])")
_AFTER_MONTH_LIST_YEAR: Final = re.compile(
    rf"(?P<more>(?:\s*(?:,|and|or|to|through|until|–|-)\s*(?:(?i:{_QUAL})\s*-?\s*)?{_M})*)"
    rf",?\s+(?:of\s+)?(?P<year>{_Y})"
)
_AFTER_YEAR_RANGE: Final = re.compile(rf"\s*[–—-]\s*(?P<year>{_Y})")
_MONTH_NAME: Final = re.compile(_M)
_RANGE_JOIN: Final = re.compile(r"\s*(?:to|until|till|through|and|–|—|-)?\s*")
_RANGE_LEADS: Final = ("from", "between")
_RANGE_SECOND_LEADS: Final = ("to", "until", "till", "through", "and")
# Lower-case words without which no relative date stands in a sentence: Knowledge.scan_with_cues
# finds them, so that the search for "last year" runs only where one of them is.
RELATIVE_CUES: Final = ("last year", "this year", "last month", "this month")
_BACK: Final = 48  # characters looked at before a trigger
_SEPARATOR: Final = "\x01"  # joins sentences so that each regex runs once per article


class _Mention:
    """A date as written, before its year is settled.

    The per-article values here are plain classes, not named tuples: compiled, they are C structs,
    built and read many times faster than a tuple subclass.
    """

    def __init__(
        self,
        start: int,
        end: int,
        phrase: str,
        year: int | None,
        month: int | None,
        day: int | None,
        precision: Precision,
        relative: str | None = None,  # "year-1", "year", "month-1", "month"
        lead: str | None = None,  # the word before the date, lower case: "in", "from", "the"
    ) -> None:
        self.start = start
        self.end = end
        self.phrase = phrase
        self.year = year
        self.month = month
        self.day = day
        self.precision = precision
        self.relative = relative
        self.lead = lead

    def __repr__(self) -> str:
        return f"_Mention({self.phrase!r}, {self.start}-{self.end}, {self.year}-{self.month}-{self.day})"


class SentenceView:
    """What dating needs to know about a sentence."""

    def __init__(self, index: int, paragraph: tuple[int, int], text: str, forward_looking: bool) -> None:
        self.index = index  # position in the article, 0-based
        self.paragraph = paragraph  # (section index, paragraph index)
        self.text = text
        self.forward_looking = forward_looking


class ResolvedDate:
    def __init__(
        self, sentence_index: int, date: dt.date, precision: Precision, year_inferred: bool, phrase: str
    ) -> None:
        self.sentence_index = sentence_index
        self.date = date
        self.precision = precision
        self.year_inferred = year_inferred
        self.phrase = phrase


def _month(name: str) -> int:
    return _MONTHS[name.rstrip(".").lower()]


def _day(text: str) -> int:
    return int(re.match(r"\d+", text).group(0))  # type: ignore[union-attr]


def find_mentions(text: str) -> list[_Mention]:
    """Every dating phrase in a sentence, in order; a range is one mention at its start."""
    return scan_dates(text)[0]


def scan_dates(
    text: str, marked: bytes | None = None, cue_spans: Sequence[tuple[int, int]] | None = None
) -> tuple[list[_Mention], list[tuple[int, int]]]:
    """The dating phrases of a sentence, and (position, year) of every explicit year in it.

    Years in names ("CASAREX 2025") are not dates but still tell year-less dates their year.
    """
    mentions: list[_Mention] = []
    years: list[tuple[int, int]] = []
    consumed = 0
    triggers = date_triggers(text, marked, cue_spans)
    for start, end in triggers:
        year_ok = text[start].isdigit() and _year_ok(text, start, end)
        if year_ok:
            year = int(text[start:end])
            if 1800 <= year <= 2099:
                years.append((start, year))
        if start < consumed:
            continue
        read = _read_trigger(text, start, end, consumed, year_ok)
        if not read:
            continue
        consumed = read[0].end
        if mentions and _continues_range(text, mentions[-1], read[0]):
            first = mentions[-1]
            phrase = text[first.start : read[0].end].strip()
            for i in range(len(mentions) - 1, -1, -1):
                if mentions[i].start == first.start:
                    mentions[i] = _with_phrase(mentions[i], phrase, read[0].end)
            continue
        mentions.extend(read)
    return mentions, years


def _with_phrase(mention: _Mention, phrase: str, end: int) -> _Mention:
    return _Mention(
        mention.start, end, phrase, mention.year, mention.month, mention.day,
        mention.precision, mention.relative, mention.lead,
    )  # fmt: skip


def _continues_range(text: str, first: _Mention, second: _Mention) -> bool:
    if first.lead not in _RANGE_LEADS:
        return False
    gap = text[first.end : second.start]
    if _RANGE_JOIN.fullmatch(gap) is None:
        return False
    return bool(gap.strip()) or second.lead in _RANGE_SECOND_LEADS


def date_triggers(
    text: str, marked: bytes | None = None, cue_spans: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """(start, end) of every month name, four-digit year and "last/this year/month", in order."""
    if marked is None:
        marked = ascii_copy(text)
    triggers = _month_spans(marked) + _year_spans(marked) + _relative_spans(text, cue_spans)
    triggers.sort()
    return triggers


def _month_spans(marked: bytes) -> list[tuple[int, int]]:
    """Where a month name is written ("June", "Sept."), whole or not: "Mayor" gives "May"."""
    spans: list[tuple[int, int]] = []
    initials = marked.translate(_MONTH_INITIALS)  # "*" where a month name can begin
    position = initials.find(b"*")
    while position != -1:
        if marked[position : position + 3] in _MONTH_PREFIXES:
            match = _MONTH_AT.match(marked, position)
            if match is not None:
                spans.append((position, match.end()))
        position = initials.find(b"*", position + 1)
    return spans


def _year_spans(marked: bytes) -> list[tuple[int, int]]:
    """Four digits starting with 1 or 2, left to right within each run of digits ("2024", "1992")."""
    spans: list[tuple[int, int]] = []
    for start, end in digit_runs(marked):
        position = start
        while position + 4 <= end:
            if marked[position] in _ONE_OR_TWO:
                spans.append((position, position + 4))
                position += 4
            else:
                position += 1
    return spans


def _relative_spans(text: str, within: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """Where "last year", "this month"... are written: found by plain search, as they are rare.

    `within`: the only spans of the text where one can stand (the sentences where the scan found a
    RELATIVE_CUES word), or None to search it all.
    """
    spans: list[tuple[int, int]] = []
    for low, high in ((0, len(text)),) if within is None else within:
        for unit in (" year", " month"):
            position = text.find(unit, low, high)
            while position != -1:
                end = position + len(unit)
                if (
                    position >= 4
                    and text[position - 4 : position].lower() in ("last", "this")
                    and (position == 4 or not text[position - 5].isalnum())
                    and (end == len(text) or not text[end].isalnum())
                ):
                    spans.append((position - 4, end))
                position = text.find(unit, end, high)
    return spans


def _read_trigger(text: str, start: int, end: int, floor: int, year_ok: bool) -> list[_Mention]:
    if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return []
    first = text[start]
    if first.isdigit():
        return _read_year(text, start, end, floor) if year_ok else []
    if first in "LlTt":
        return _read_relative(text, start, end, floor)
    word = text[start:end]
    if word.rstrip(".").lower() not in _MONTHS:
        return []  # the trigger pairs letters loosely: "Day", "Dune"
    if end < len(text) and (text[end].isalnum() or text[end] == "_") and not word.endswith("."):
        return []
    return _read_month(text, start, end, floor)


_OPENERS: Final = "(“\"‘'["
_LEADS: Final = frozenset(_LEAD_WORDS.split("|")) | {"circa"}
_QUAL_ENDS: Final = frozenset({"early", "mid", "late", "of"})
_QUALS: Final = tuple(
    sorted(
        (
            tuple(q.split())
            for q in (
                "early", "mid", "late", "the end of", "end of", "the beginning of", "beginning of",
                "the start of", "the first half of", "the second half of", "the first quarter of",
                "the second quarter of", "the third quarter of", "the fourth quarter of",
                "the last quarter of",
            )
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip


class _Back:
    """What stands right before a trigger: where the phrase begins, its lead word, qualifier, day."""

    def __init__(self, begin: int, lead: str | None = None, qual: bool = False, day: str | None = None) -> None:
        self.begin = begin
        self.lead = lead
        self.qual = qual
        self.day = day


def _tokens(text: str, low: int, high: int, keep: int = 6) -> list[tuple[int, str]]:
    """The last `keep` whitespace-separated words of text[low:high], with their positions."""
    window = text[low:high]
    cut = window.rfind(_SEPARATOR)
    if cut != -1:  # a sentence boundary: the words before it belong to another sentence
        low += cut + 1
        window = window[cut + 1 :]
    words = window.split()[-keep:]
    tokens: list[tuple[int, str]] = []
    position = len(window)
    for word in reversed(words):
        position = window.rfind(word, 0, position)
        tokens.append((low + position, word))
    tokens.reverse()
    return tokens


def _is_day(word: str) -> bool:
    digits = word[:-2] if word[-2:].lower() in ("st", "nd", "rd", "th") else word
    return 0 < len(digits) <= 2 and digits.isdigit() and 1 <= int(digits) <= 31


def _look_back(text: str, start: int, floor: int, *, allow_day: bool) -> _Back:
    """Read the words before a trigger (faster than a regex anchored at the trigger's start)."""
    low = max(floor, start - _BACK)
    if start <= low:
        return _Back(start, None, False, None)
    last = text[start - 1]
    if not (last.isspace() or last == "-"):
        return _Back(start, None, False, None)
    tokens = _tokens(text, low, start)
    k = len(tokens)
    begin, qual, day = start, False, None
    if last == "-":
        word = tokens[-1][1].lower() if k else ""
        if word not in ("mid-", "early-", "late-"):
            return _Back(start, None, False, None)
        begin, qual, k = tokens[-1][0], True, k - 1
    else:
        if allow_day and k:
            word = tokens[k - 1][1]
            if word.lower() == "of" and k >= 2 and _is_day(tokens[k - 2][1]):
                day, begin, k = tokens[k - 2][1], tokens[k - 2][0], k - 2
            elif _is_day(word):
                day, begin, k = word, tokens[k - 1][0], k - 1
        if day is None and k and tokens[k - 1][1].lower() in _QUAL_ENDS:
            words = tuple(t[1].lower() for t in tokens[max(0, k - 4) : k])
            for candidate in _QUALS:
                if words[-len(candidate) :] == candidate:
                    begin, qual, k = tokens[k - len(candidate)][0], True, k - len(candidate)
                    break
    lead = None
    if k:
        position, word = tokens[k - 1]
        bare = word.lstrip(_OPENERS).lower()
        pair = (tokens[k - 2][1].lower(), bare) if k >= 2 else None
        if pair == ("as", "of"):
            lead, begin = "as of", tokens[k - 2][0]
        elif k >= 3 and (tokens[k - 3][1].lower(), *pair) == ("as", "early", "as"):  # type: ignore[misc]
            lead, begin = "as early as", tokens[k - 3][0]
        elif bare in _LEADS:
            lead, begin = bare, position + len(word) - len(bare)
    return _Back(begin, lead, qual, day)


def _read_month(text: str, start: int, end: int, floor: int) -> list[_Mention]:
    month = _month(text[start:end])
    back = _look_back(text, start, floor, allow_day=True)
    begin, lead = back.begin, back.lead
    if back.day is not None:
        after = _yearish(text, end)
        if after is not None:
            year, stop = after
            return [_mention(text, begin, stop, year, month, _day(back.day), "day", lead)]
        return [_mention(text, begin, end, None, month, _day(back.day), "day", lead)]
    match = _AFTER_MONTH_DAY_YEAR.match(text, end)
    if match is not None:
        return [_mention(text, begin, match.end(), int(match["year"]), month, _day(match["day"]), "day", lead)]
    match = _AFTER_MONTH_LIST_YEAR.match(text, end)
    if match is not None and _year_ok(text, match.start("year"), match.end()):
        year = int(match["year"])
        months = [month, *(_month(m) for m in _MONTH_NAME.findall(match["more"]))]
        return [_mention(text, begin, match.end(), year, m, None, "month", lead) for m in months]
    match = _AFTER_MONTH_DAY.match(text, end)
    if match is not None:
        return [_mention(text, begin, match.end(), None, month, _day(match["day"]), "day", lead)]
    if lead is None and not back.qual:
        return []
    if lead is not None and lead not in _MONTH_LEAD_WORDS:
        return []
    if end < len(text) and text[end : end + 1].isspace() and text[end + 1 : end + 2].isdigit():
        return []
    return [_mention(text, begin, end, None, month, None, "month", lead)]


def _yearish(text: str, end: int) -> tuple[int, int] | None:
    match = _AFTER_DAY_MONTH.match(text, end)
    if match is None or not _year_ok(text, match.start(1), match.end(1)):
        return None
    return int(match.group(1)), match.end(1)


def _year_ok(text: str, start: int, end: int) -> bool:
    """A year, not a number with a unit ("2000 km") or a decade ("the 2000s")."""
    if start and (text[start - 1].isalnum() or text[start - 1] in "$€£₽.,/_"):
        return False
    if end < len(text):
        following = text[end]
        if following.isalnum() or following in "%_":
            return False
        if following in ".,-" and text[end + 1 : end + 2].isdigit():
            return False
    return _UNIT_AFTER.match(text, end) is None


def _read_year(text: str, start: int, end: int, floor: int) -> list[_Mention]:
    if not 1800 <= int(text[start:end]) <= 2099:
        return []
    year = int(text[start:end])
    back = _look_back(text, start, floor, allow_day=False)
    match = _AFTER_YEAR_RANGE.match(text, end)
    if match is not None and _year_ok(text, match.start("year"), match.end()):
        return [_mention(text, back.begin, match.end(), year, None, None, "year", back.lead)]
    if back.qual or (back.lead is not None and back.lead in _YEAR_LEAD_WORDS):
        return [_mention(text, back.begin, end, year, None, None, "year", back.lead)]
    return []


def _read_relative(text: str, start: int, end: int, floor: int) -> list[_Mention]:
    begin = start
    tokens = _tokens(text, max(floor, start - 10), start)
    if tokens and tokens[-1][1].lower() in ("earlier", "later") and text[start - 1].isspace():
        begin = tokens[-1][0]
    phrase = text[begin:end]
    words = phrase.lower().split()
    unit = words[-1]
    relative = f"{unit}-1" if words[-2] == "last" else unit
    precision: Precision = "year" if unit == "year" else "month"
    return [_Mention(begin, end, phrase, None, None, None, precision, relative, None)]


def _mention(
    text: str, begin: int, end: int, year: int | None, month: int | None, day: int | None,
    precision: Precision, lead: str | None,
) -> _Mention:  # fmt: skip
    return _Mention(begin, end, text[begin:end].strip(), year, month, day, precision, None, lead)


def _make_date(year: int, month: int | None, day: int | None) -> dt.date | None:
    try:
        return dt.date(year, month or 1, day or 1)
    except ValueError:
        return None


def _year_before(date: dt.date) -> dt.date | None:
    return _make_date(date.year - 1, date.month, date.day if (date.month, date.day) != (2, 29) else 28)



DatesFound = list[tuple[list[_Mention], list[tuple[int, int]]]]
JoinedText = tuple[str, bytes]  # the sentences joined by _SEPARATOR, and its ascii_copy


def join_sentences(views: Sequence[SentenceView]) -> JoinedText:
    """The article's sentences as one text (a control character between two), and its ASCII copy."""
    text = _SEPARATOR.join(view.text for view in views)
    return text, ascii_copy(text)


def find_dates(
    views: Sequence[SentenceView],
    joined: JoinedText | None = None,
    cue_spans: Sequence[tuple[int, int]] | None = None,
) -> DatesFound:
    """Per sentence: its dating phrases and its explicit years, found in one pass over the text.

    `joined` is join_sentences(views), when the caller has it already; `cue_spans` the spans of the
    joined text where a RELATIVE_CUES word stands, when known (else all of it is searched).
    """
    text, marked = joined if joined is not None else join_sentences(views)
    starts = list(accumulate((len(view.text) + 1 for view in views), initial=0))
    found: DatesFound = [([], []) for _ in views]
    mentions, years = scan_dates(text, marked, cue_spans)
    for mention in mentions:
        found[bisect_right(starts, mention.start) - 1][0].append(mention)
    for position, year in years:
        found[bisect_right(starts, position) - 1][1].append((position, year))
    return found


def resolve_dates(
    views: Sequence[SentenceView],
    published: dt.date | None,
    *,
    fallback_year: int | None = None,
    found: DatesFound | None = None,
) -> list[ResolvedDate]:
    """Settle the year of every date in the sentences.

    With `published`, year-less dates never land after it (moved back a year, or dropped).
    Without it (inferring the as-of date), they take `fallback_year`, and relative dates are skipped.
    """
    if found is None:
        found = find_dates(views)
    limit = published.year if published is not None else fallback_year
    if published is not None:
        fallback_year = published.year
    resolved: list[ResolvedDate] = []
    previous_years: list[int] = []
    previous_paragraph: tuple[int, int] | None = None
    for view, (mentions, years) in zip(views, found, strict=True):
        if view.paragraph != previous_paragraph:
            previous_years = []
        for mention in mentions:
            result = _resolve(mention, view, years, previous_years, published, fallback_year, limit)
            if result is not None:
                resolved.append(result)
        previous_years = [y for _, y in years]
        previous_paragraph = view.paragraph
    return resolved


def _resolve(
    mention: _Mention,
    view: SentenceView,
    years: list[tuple[int, int]],
    previous_years: list[int],
    published: dt.date | None,
    fallback_year: int | None,
    limit: int | None,
) -> ResolvedDate | None:
    date: dt.date | None
    if mention.relative is not None:
        if published is None:
            return None
        date = _relative(mention.relative, published)
        return ResolvedDate(view.index, date, mention.precision, True, mention.phrase)
    if mention.year is not None:
        date = _make_date(mention.year, mention.month, mention.day)
        if date is None:
            return None
        return ResolvedDate(view.index, date, mention.precision, False, mention.phrase)

    def usable(year: int) -> bool:
        return limit is None or year <= limit

    before = [y for pos, y in years if pos < mention.start and usable(y)]
    after = [y for pos, y in years if pos >= mention.end and usable(y)]
    earlier = [y for y in previous_years if usable(y)]
    from_context = True
    if before:
        year = before[-1]
    elif after:
        year = after[0]
    elif earlier:
        year = earlier[-1]
    elif fallback_year is not None:
        year, from_context = fallback_year, False
    else:
        return None
    date = _make_date(year, mention.month, mention.day)
    if date is None:
        return None
    if published is not None and date > published and not view.forward_looking:
        if from_context:
            return None
        date = _year_before(date)
        if date is None or date > published:
            return None
    return ResolvedDate(view.index, date, mention.precision, True, mention.phrase)


def _relative(relative: str, published: dt.date) -> dt.date:
    if relative == "year-1":
        return dt.date(published.year - 1, 1, 1)
    if relative == "year":
        return dt.date(published.year, 1, 1)
    first = published.replace(day=1)
    if relative == "month-1":
        return (first - dt.timedelta(days=1)).replace(day=1)
    return first


def sentence_texts(sections: Sequence[Section]) -> list[tuple[tuple[int, int], str]]:
    """((section index, paragraph index), sentence) for every sentence, in order."""
    return [
        ((s_index, p_index), sentence)
        for s_index, section in enumerate(sections)
        for p_index, paragraph in enumerate(paragraphs(section.text))
        for sentence in split_paragraph(paragraph)
    ]


def sentence_views(
    sections: Sequence[Section], forward: Sequence[bool] | None = None
) -> list[SentenceView]:
    """The sentences of the sections; `forward` gives their outlook flags where already known."""
    texts = sentence_texts(sections)
    flags = forward if forward is not None else [is_forward_looking(text) for _, text in texts]
    return [
        SentenceView(index, paragraph, text, flag)
        for index, ((paragraph, text), flag) in enumerate(zip(texts, flags, strict=True))
    ]


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def latest_year(views: Sequence[SentenceView], found: DatesFound | None = None) -> int | None:
    """The latest explicit year written in a sentence that does not look ahead."""
    if found is None:
        found = find_dates(views)
    years = [y for view, (_, ys) in zip(views, found, strict=True) if not view.forward_looking for _, y in ys]
    return max(years, default=None)


_FINENESS: Final = {"year": 0, "month": 1, "day": 2}


def latest_dated(views: Sequence[SentenceView], found: DatesFound | None = None) -> ResolvedDate | None:
    """The latest date in a sentence that does not look ahead, at its finest precision."""
    if found is None:
        found = find_dates(views)
    fallback = latest_year(views, found)
    if fallback is None:
        return None
    resolved = [
        r
        for r in resolve_dates(views, None, fallback_year=fallback, found=found)
        if not views[r.sentence_index].forward_looking
    ]
    return max(resolved, key=lambda r: (r.date, _FINENESS[r.precision]), default=None)


def as_of_from_views(views: Sequence[SentenceView], found: DatesFound | None = None) -> dt.date | None:
    latest = latest_dated(views, found)
    return latest.date if latest else None


def infer_as_of(sections: Sequence[Section]) -> tuple[dt.date, Precision] | None:
    """infer_as_of_date with the precision the text gives it ("June 2025" is a month)."""
    latest = latest_dated(sentence_views(sections))
    return (latest.date, latest.precision) if latest else None


def infer_as_of_date(sections: Sequence[Section]) -> dt.date | None:
    """The latest date the text itself vouches for, for captures that lost their date line.

    The latest dated event in a sentence that does not look ahead; year-less dates ("On October 9")
    count too, read in the latest explicit year of the text, by the same rules enrich() applies, so
    that enrich(published=infer_as_of_date(sections)) settles every year-less date as it would with
    no date at all. None when the text dates nothing.
    """
    return as_of_from_views(sentence_views(sections))
