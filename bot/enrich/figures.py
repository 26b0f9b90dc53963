"""Key figures: amounts of money, percentages, quantities with units, durations and counts.

Owns `find_figures(sentence) -> list[Figure]`. Precision over recall: a number is a figure only with
a currency, a percent sign or word, a unit of measure, a time unit, or (for counts) a noun from a
short list of things worth counting ("160 countries"). Decisions:
  - money: "US$ 12.4 billion", "$5 million", "€2 billion", "USD 300 million", "300 million dollars";
  - percent: "27 percent", "30%", "5 percentage points"; "an 18-point increase" is a percent figure
    in points (unit "pp");
  - quantities: digits or number words ("ten meters") with a unit ("20 bcm", "500 km",
    "10 million tons"); a compound keeps its article and noun: "a 20-mile corridor";
  - durations need digits: "99-year mandate", "30-year hiatus", "for up to 99 years"; spelled-out
    ones ("a two-year estrangement", "over the past five years") are narrative, "2,500 years ago" is
    a point in time and "the 44-day war" a name, not amounts;
  - counts need digits and a listed noun: "160 countries" yes, "eight Russian citizens" no.
Where two readings overlap the first kind in that order wins (money over count).

How: every figure hangs on a number (or on a unit, for number words): the numbers are found by a
byte search (bot.enrich.digits), and only those followed by a currency, "%", a hyphen or a known
unit or noun are read further.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Final

from bot.enrich.digits import ascii_copy, number_spans
from bot.enrich.model import FigureKind

_WORD_NUMBERS: Final = MappingProxyType({
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "a hundred": 100, "a dozen": 12, "dozen": 12, "a thousand": 1000,
})  # fmt: skip
_SCALES: Final = MappingProxyType({
    "thousand": 1e3, "million": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9,
    "trillion": 1e12, "tn": 1e12,
})  # fmt: skip
_CURRENCY_CODES: Final = MappingProxyType({
    "us$": "USD", "usd": "USD", "$": "USD", "dollar": "USD", "dollars": "USD", "us dollars": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP",
    "pounds": "GBP", "¥": "CNY", "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "rub": "RUB",
    "₽": "RUB", "rubles": "RUB", "roubles": "RUB", "azn": "AZN", "₼": "AZN", "manat": "AZN",
    "manats": "AZN", "kzt": "KZT", "₸": "KZT", "tenge": "KZT", "amd": "AMD", "drams": "AMD",
    "gel": "GEL", "₾": "GEL", "lari": "GEL", "uzs": "UZS", "try": "TRY", "₺": "TRY", "lira": "TRY",
    "liras": "TRY", "irr": "IRR", "rials": "IRR", "tmt": "TMT", "som": "KGS", "soms": "KGS",
})  # fmt: skip
_UNITS: Final = MappingProxyType({
    "bcm": "bcm", "billion cubic meters": "bcm", "billion cubic metres": "bcm", "tcm": "tcm",
    "trillion cubic meters": "tcm", "trillion cubic metres": "tcm", "cubic meters": "m3",
    "cubic metres": "m3", "km": "km", "kilometers": "km", "kilometres": "km", "kilometer": "km",
    "kilometre": "km", "square kilometers": "km2", "square kilometres": "km2", "km2": "km2",
    "km²": "km2", "mile": "mile", "miles": "mile", "meter": "m", "meters": "m", "metre": "m",
    "metres": "m", "ton": "ton", "tons": "ton", "tonne": "ton", "tonnes": "ton", "barrels": "barrel",
    "barrels per day": "barrel/day", "bpd": "barrel/day", "mw": "MW", "gw": "GW", "kwh": "kWh",
    "mwh": "MWh", "gwh": "GWh", "twh": "TWh", "teu": "TEU", "teus": "TEU", "hectares": "ha",
})  # fmt: skip
_TIME_UNITS: Final = MappingProxyType({
    "year": "year", "years": "year", "month": "month", "months": "month", "day": "day",
    "days": "day", "week": "week", "weeks": "week", "decade": "decade", "decades": "decade",
})  # fmt: skip
_COUNTABLE: Final = (
    "countries|states|nations|people|persons|citizens|civilians|troops|soldiers|servicemen|"
    "refugees|migrants|workers|jobs|companies|firms|enterprises|projects|agreements|documents|"
    "members|delegates|students|tourists|visitors|households|vehicles|trucks|wagons|trains|"
    "containers|flights|ships|vessels|aircraft|drones|missiles|tanks|deaths|casualties|victims|"
    "prisoners|detainees|hostages|villages|settlements|schools|hospitals|cities|regions"
)

_WORDNUM: Final = r"(?i:" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
_SCALE: Final = r"(?:\s*(?:thousand|million|billion|trillion|bn|mn|mln|tn)\b)"
_CUR_PRE: Final = r"(?:US\s?\$|USD|\$|€|EUR|£|GBP|¥|CNY|RMB|RUB|₽|AZN|₼|KZT|₸|AMD|GEL|₾|UZS|TRY|₺|IRR|TMT)"
_CUR_POST: Final = (
    r"(?i:US dollars|dollars|euros|pounds|rubles|roubles|manats?|tenge|lari|drams|yuan|rials|"
    r"liras|lira|soms?)"
)
_UNIT: Final = (
    r"(?i:billion cubic met(?:er|re)s|trillion cubic met(?:er|re)s|cubic met(?:er|re)s|"
    r"square kilomet(?:er|re)s|barrels per day|barrels|bcm|tcm|km²|km2|km|kilomet(?:er|re)s|"
    r"miles|met(?:er|re)s|tonnes|tons|bpd|MW|GW|kWh|MWh|GWh|TWh|TEUs?|hectares)"
)
_COMPOUND_UNIT: Final = r"(?i:mile|km|kilomet(?:er|re)|met(?:er|re)|ton|tonne)"

# A figure hangs on a number (bot.enrich.digits.number_spans: `[0-9][0-9,.]*`, found without a
# regex scan); what surrounds each number is read with anchored patterns.
_VALID_NUMBER: Final = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_CURRENCY_BEFORE: Final = re.compile(rf"{_CUR_PRE}\s?$")
_ARTICLE_BEFORE: Final = re.compile(r"(?<![\w])(?i:an?|the)\s+$")
_AFTER_NUMBER: Final = re.compile(
    rf"(?P<scale>{_SCALE})?"
    rf"(?:\s+(?P<cur>{_CUR_POST})\b"
    r"|\s?(?P<pct>%|(?i:percent|per cent|percentage points?)\b)"
    r"|-point\s+(?P<pts>(?i:increase|rise|gain|jump|drop|decrease|decline|fall|lead|swing))\b"
    rf"|-(?P<cunit>{_COMPOUND_UNIT})(?:-long)?\s+(?P<cnoun>[a-z]+)"
    rf"|\s+(?P<unit>{_UNIT})\b"
    r"|-(?P<dunit>years?|months?|days?|weeks?|decades?)(?:-long|-old)?\s+(?P<dnoun>[a-z]+)"
    r"|\s+(?P<dur>years|months|days|weeks|decades)\b(?!\s+(?:ago|old|earlier|later|before))"
    rf"|\s+(?P<count>{_COUNTABLE})\b)?"
)
_NO_GROUPS: Final[tuple[str | None, ...]] = (None,) * _AFTER_NUMBER.groups
# Indices into match.groups() (a groupdict() per number costs more than the match).
_SCALE_GROUP: Final = _AFTER_NUMBER.groupindex["scale"] - 1
_CUR_GROUP: Final = _AFTER_NUMBER.groupindex["cur"] - 1
_PCT_GROUP: Final = _AFTER_NUMBER.groupindex["pct"] - 1
_PTS_GROUP: Final = _AFTER_NUMBER.groupindex["pts"] - 1
_CUNIT_GROUP: Final = _AFTER_NUMBER.groupindex["cunit"] - 1
_UNIT_GROUP: Final = _AFTER_NUMBER.groupindex["unit"] - 1
_DUNIT_GROUP: Final = _AFTER_NUMBER.groupindex["dunit"] - 1
_DNOUN_GROUP: Final = _AFTER_NUMBER.groupindex["dnoun"] - 1
_DUR_GROUP: Final = _AFTER_NUMBER.groupindex["dur"] - 1
_COUNT_GROUP: Final = _AFTER_NUMBER.groupindex["count"] - 1
# Number words count only before a unit ("ten meters", "thirty percent"): find the unit, look back.
_WORD_UNITS: Final = (
    ("meters", "m"), ("metres", "m"), ("miles", "mile"), ("kilometers", "km"), ("kilometres", "km"),
    ("km", "km"), ("tons", "ton"), ("tonnes", "ton"), ("bcm", "bcm"), ("barrels", "barrel"),
    ("percent", "%"), ("per cent", "%"),
)  # fmt: skip
# The unit words as Knowledge.scan_with_cues looks for them: lower case, after a space (the number
# word before them is searched only in the sentences where one stands).
WORD_UNIT_CUES: Final = tuple(" " + word for word, _ in _WORD_UNITS)
_WORD_NUMBER_BEFORE: Final = re.compile(rf"(?<![\w-])(?P<num>{_WORDNUM})(?P<scale>{_SCALE})?\s+$")
_CURRENCY_MARKS: Final = frozenset("$€£¥₽₼₸₾₺")
_WORD_AFTER: Final = re.compile(r"[A-Za-z][A-Za-z²2]*")
# The first word after a number that can make it a figure; anything else is passed over fast.
_FIGURE_WORDS: Final = frozenset(
    "thousand million billion trillion bn mn mln tn us dollars euros pounds rubles roubles manat "
    "manats tenge lari drams yuan rials liras lira som soms percent per percentage billion trillion "
    "cubic square barrels bcm tcm km km2 km² kilometers kilometres miles meters metres tonnes tons "
    "bpd mw gw kwh mwh gwh twh teu teus hectares years months days weeks decades".split()
) | frozenset(_COUNTABLE.split("|"))


class Figure:
    """A key figure as found; a plain class, as compiled it is built many times faster than a tuple."""

    def __init__(self, start: int, phrase: str, kind: FigureKind, value: float | None, unit: str | None) -> None:
        self.start = start
        self.phrase = phrase
        self.kind = kind
        self.value = value
        self.unit = unit

    def __repr__(self) -> str:
        return f"Figure({self.phrase!r}, {self.kind}, {self.value}, {self.unit})"


def find_figures(
    sentence: str, marked: bytes | None = None, cue_spans: Sequence[tuple[int, int]] | None = None
) -> list[Figure]:
    """Key figures in a sentence (or in sentences joined by a control character), in order.

    `marked` is the sentence's bot.enrich.digits.ascii_copy, when the caller has it already;
    `cue_spans` the only spans where a unit word after a number word can stand (the sentences with a
    WORD_UNIT_CUES word), when known.
    """
    figures: list[Figure] = []
    consumed = 0
    for start, token_end in number_spans(ascii_copy(sentence) if marked is None else marked):
        if start < consumed:
            continue
        after = token_end
        while sentence[after - 1] in ",.":
            after -= 1
        # Most numbers are years and days ("in 2024,"): nothing after them makes a figure.
        currency = _currency_before(sentence, start)
        if not currency and not _may_be_figure(sentence, after):
            continue
        figure, end = _read_number(sentence, start, token_end, currency)
        if figure is not None:
            figures.append(figure)
            consumed = end
    added = False
    for low, high in ((0, len(sentence)),) if cue_spans is None else cue_spans:
        for word, unit in _WORD_UNITS:
            position = sentence.find(word, low, high)
            while position != -1:
                end = position + len(word)
                if (
                    position > 1
                    and sentence[position - 1] == " "
                    and sentence[position - 2].isalpha()
                    and (end == len(sentence) or not sentence[end].isalnum())
                ):
                    before = _WORD_NUMBER_BEFORE.search(sentence, max(0, position - 24), position)
                    if before is not None:
                        value = float(_WORD_NUMBERS[before["num"].lower()])
                        phrase = sentence[before.start() : end]
                        if unit == "%":
                            figures.append(Figure(before.start(), phrase, "percent", value, "%"))
                        else:
                            scale = _SCALES.get((before["scale"] or "").strip().lower(), 1.0)
                            figures.append(Figure(before.start(), phrase, "quantity", value * scale, unit))
                        added = True
                position = sentence.find(word, end, high)
    if added:
        figures.sort(key=lambda f: f.start)
    return figures


def _read_number(sentence: str, start: int, token_end: int, after_currency: bool) -> tuple[Figure | None, int]:
    """The figure a number makes, and where it ends. `after_currency`: _currency_before's answer,
    which every currency _CURRENCY_BEFORE can read passes (so the regex runs only then)."""
    if start and (sentence[start - 1].isalnum() or sentence[start - 1] in "_-."):
        return None, 0  # "JF-17", "Block-III", part of a code
    valid = _VALID_NUMBER.match(sentence, start, token_end)
    if valid is None:
        return None, 0
    num_end = valid.end()
    if num_end < len(sentence) and sentence[num_end].isdigit():
        return None, 0
    value = float(valid.group(0).replace(",", ""))
    after = _AFTER_NUMBER.match(sentence, num_end)
    # The groups as a tuple, read by position: a groupdict() per number costs more than the match.
    groups = after.groups() if after is not None else _NO_GROUPS
    scale_written = groups[_SCALE_GROUP] or ""
    scale_text = scale_written.strip().lower()
    scale = _SCALES.get(scale_text, 1.0)
    end = after.end() if after is not None else num_end
    currency = _CURRENCY_BEFORE.search(sentence, max(0, start - 6), start) if after_currency else None
    if currency is not None:
        code = " ".join(currency.group(0).split()).lower().replace("us $", "us$")
        stop = num_end + len(scale_written)
        unit = _CURRENCY_CODES.get(code, code.upper())
        phrase = sentence[currency.start() : stop]
        return Figure(currency.start(), phrase, "money", value * scale, unit), stop
    if end == num_end or (scale_text and end == num_end + len(scale_written)):
        return None, 0
    if cur := groups[_CUR_GROUP]:
        written = " ".join(cur.split()).lower()
        return Figure(start, sentence[start:end], "money", value * scale, _CURRENCY_CODES.get(written, written.upper())), end
    if pct := groups[_PCT_GROUP]:
        unit = "pp" if "point" in pct.lower() else "%"
        return Figure(start, sentence[start:end], "percent", value, unit), end
    if groups[_PTS_GROUP]:
        begin = _article_before(sentence, start)
        return Figure(begin, sentence[begin:end], "percent", value, "pp"), end
    if cunit := groups[_CUNIT_GROUP]:
        begin = _article_before(sentence, start)
        raw = cunit.lower()
        unit = _UNITS.get(raw) or _UNITS.get(raw + "s") or raw
        return Figure(begin, sentence[begin:end], "quantity", value, unit), end
    if measure := groups[_UNIT_GROUP]:
        raw = measure.lower()
        return Figure(start, sentence[start:end], "quantity", value * scale, _UNITS.get(raw, raw)), end
    if scale_text:
        return None, 0
    if dunit := groups[_DUNIT_GROUP]:
        if groups[_DNOUN_GROUP] in ("war", "wars"):
            return None, end  # "the 44-day war", a name rather than an amount of time
        begin = _article_before(sentence, start)
        return Figure(begin, sentence[begin:end], "duration", value, _TIME_UNITS[dunit.lower()]), end
    if dur := groups[_DUR_GROUP]:
        return Figure(start, sentence[start:end], "duration", value, _TIME_UNITS[dur.lower()]), end
    if count := groups[_COUNT_GROUP]:
        if 1900 <= value <= 2099 and "," not in valid.group(0):
            return None, 0  # "2024 troops" is rarer than a year before a plural
        return Figure(start, sentence[start:end], "count", value, count.lower()), end
    return None, 0


def _article_before(sentence: str, start: int) -> int:
    """Where "a", "an" or "the" right before a number begins ("a 20-mile corridor"), else `start`."""
    article = _ARTICLE_BEFORE.search(sentence, max(0, start - 5), start)
    return article.start() if article is not None else start


def _currency_before(sentence: str, start: int) -> bool:
    """ "$5", "US$ 12.4", "USD 300": a currency sign or code right before the number."""
    if start == 0:
        return False
    before = sentence[start - 1]
    if before in _CURRENCY_MARKS:
        return True
    return before.isspace() and start > 1 and (sentence[start - 2] in _CURRENCY_MARKS or sentence[start - 2].isupper())


def _may_be_figure(sentence: str, end: int) -> bool:
    """Whether what follows a number can make it a figure: "%", "-mile", " billion", " bcm"..."""
    if end >= len(sentence):
        return False
    following = sentence[end]
    if following == "%" or following == "-":
        return True
    if following != " " and following != "\u00a0":
        return False
    word = _WORD_AFTER.match(sentence, end + 1)
    return word is not None and word.group(0).lower() in _FIGURE_WORDS
