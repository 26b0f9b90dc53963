"""Countries, organisations and topics as one Knowledge, and the one matcher that finds them in text.

Owns: loading data/countries.yaml (every ISO 3166-1 country, completed from pycountry),
data/organisations.yaml and data/topics.yaml; the exact look-up of what a user typed
(`Knowledge.lookup`, `Knowledge.names`); geographic neighbours; and `Knowledge.scan`, which finds
every entity mention, and the outlook phrases of bot.enrich.sentences, in a batch of sentences in a
single pass.

The matcher is built once per Knowledge over every alias, folded (accents stripped, punctuation a
space, lower case) and padded with spaces so that only whole words match: one Aho-Corasick
automaton (pyahocorasick) when installed, else a hash-trie over words that gives the same matches.
Matching is leftmost-longest within each layer (countries, organisations and non-country phrases;
topics; outlook phrases), so "Indian Ocean" silences "Indian" while "EU membership" still counts
for both the EU and the EU-integration topic.

Case is checked on the text as written: an alias written in capitals ("US", "U.S.", "EU") matches
only in capitals, and "US$" is one word, never the country; any other country or organisation
alias must be capitalised ("Turkey", not "turkey"); topic phrases match in any case.
Disambiguation beyond case: the longest alias wins ("Papua New Guinea", "Organization of Turkic
States", "Atlanta, Georgia"); phrases in `not_countries` name nothing ("Indian Ocean", "Soviet");
`context_rules` drop a reading by what else its sentence says (Georgia the U.S. state);
`person_names` are dropped next to an unknown capitalised word ("Michael Jordan"); a
`context_alias` counts only where the article names the country outright ("the Islamic Republic");
an acronym right after its full name ("... Organization (SCO)") is the same mention.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import pycountry
import yaml

try:  # C Aho-Corasick: the fast path; the pure-Python trie walk gives the same matches
    import ahocorasick
except ImportError:  # pragma: no cover - exercised by forcing the fallback in the tests
    ahocorasick = None

from bot.enrich.events import RELATIVE_CUES
from bot.enrich.figures import WORD_UNIT_CUES
from bot.enrich.model import EntityInfo, EntityKind, entity_kind
from bot.enrich.sentences import FORWARD_PHRASES, LOWERCASE_ONLY
from bot.enrich.topics import Topic, compile_patterns, load_topics, plural_forms

COUNTRY_PREFIX: Final = "c:"
ORG_PREFIX: Final = "o:"
SEPARATOR: Final = "\x01"  # joins sentences for one scan; no alias contains it, so no match spans two

# ASCII punctuation becomes a space; "$" is kept in its word so that "US$" is never the country.
_ASCII_PUNCT: Final = bytes(
    b if b >= 0x80 or chr(b).isalnum() or chr(b) in "$" + SEPARATOR else 0x20 for b in range(256)
)
# Matching layers: leftmost-longest is resolved within each. The outlook layer finds the phrases
# that make a sentence forward-looking (bot.enrich.sentences.FORWARD_PHRASES): not entities.
_GAZETTEER: Final = 0
_TOPICS: Final = 1
_OUTLOOK: Final = 2
_LAYERS: Final = (_GAZETTEER, _TOPICS, _OUTLOOK)
_CUE: Final = -1  # in place of an alias's length in the automaton: a cue word (Knowledge.scan_with_cues)
OUTLOOK_KEY: Final = "outlook"
_KIND_ORDER: Final = MappingProxyType({"country": 0, "org": 1, "topic": 2})
# Capitalised words that may stand next to a country that is also a person's name ("In Jordan").
_FUNCTION_WORDS: Final = frozenset(
    "a an and as at but by for from in into of on or over than that the this these those to "
    "under until via when where while with within without both between like unlike including "
    "president king queen prime minister kingdom republic state government".split()
)


def _fold_table() -> dict[int, str]:
    """str.translate table for non-ASCII text: accents stripped, case kept, symbols a space."""
    table: dict[int, str] = {}
    for codepoint in range(0x3001):  # through U+3000, the ideographic space
        char = chr(codepoint)
        if char.isalnum():
            if codepoint == 0x130:  # "İ".lower() is two characters: fold it to "I" first
                table[codepoint] = "I"
                continue
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            if len(base) == 1 and base != char and base.isalnum():
                table[codepoint] = base
        else:
            table[codepoint] = " "
    return table


def _cased(text: str, fold: Mapping[int, str]) -> str:
    """Accents stripped, punctuation a space, case kept; "$" stays in its word ("US$").

    One character for one character, so that positions carry over. The only whitespace left is " ".
    """
    return _cased_utf8(text, fold).decode("utf-8", "surrogatepass")


def _cased_utf8(text: str, fold: Mapping[int, str]) -> bytes:
    """_cased(text), UTF-8 encoded."""
    if not text.isascii():
        # Analyses hold a dozen characters outside ASCII (quotes, dashes, "Türkiye"): the ASCII codec
        # finds them at C speed, each one "?" in its output, and only those are looked up. A regex
        # or str.translate over the whole text costs many times more.
        marked = text.encode("ascii", "replace")
        pieces: list[str] = []
        done = 0
        position = marked.find(b"?")
        while position != -1:
            char = text[position]
            if char != "?":
                pieces.append(text[done:position])
                pieces.append(fold.get(ord(char), char))
                done = position + 1
            position = marked.find(b"?", position + 1)
        pieces.append(text[done:])
        text = "".join(pieces)
    # bytes.translate is a plain table look-up, several times faster than a regex or str.translate;
    # UTF-8 bytes of letters outside ASCII map to themselves.
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_PUNCT)


def _collapse_spaces(text: bytes) -> bytes:
    """Runs of spaces made one (the text holds no other whitespace).

    Splitting into words and joining them again costs more than these few passes of bytes.replace
    (each halves the longest run; punctuation next to a space makes runs of two or three).
    """
    while b"  " in text:
        text = text.replace(b"  ", b" ")
    return text


def _build_automaton(plans: Mapping[str, tuple[_Plan, ...]], cue_words: Sequence[str]) -> tuple[Any, bool]:
    """An Aho-Corasick automaton over " alias " (spaces make matches whole words), if installed, and
    whether it also finds the cue words.

    A match ending at index `end` (the closing space) starts its first letter at `end - len(alias)`;
    its value carries the alias's plans, so the hot loop needs no look-up. Cues (lower case, matched
    anywhere) tell which sentences the date and figure readers must search for words of their own; a
    cue that is also an alias would take the alias's place, so then there are no cues at all.
    """
    if ahocorasick is None:
        return None, False
    automaton = ahocorasick.Automaton()
    for key, plan in plans.items():
        automaton.add_word(f" {key} ", (len(key), plan))
    cues = bool(cue_words) and not any(cue in automaton for cue in cue_words)
    if cues:
        for cue in cue_words:
            automaton.add_word(cue, (_CUE, ()))
    automaton.make_automaton()
    return automaton, cues


def normalise_name(text: str) -> str:
    """What a user typed, reduced for exact look-up: "Türkiye" -> "turkiye", "U.S." -> "us"."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    folded = folded.replace(".", "").replace("'", "").replace("’", "")
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


@dataclass(frozen=True)
class _Candidate:
    """One thing an alias can mean; `key` is None for a phrase that names nothing ("Indian Ocean")."""

    key: str | None
    layer: int
    case: tuple[str, ...]  # per token: "U" all capitals, "C" capitalised, "L" lower case, "-" any
    alias: str  # the folded alias, for the context rules
    context_only: bool = False
    person_name: bool = False
    special: bool = False  # needs more than its case checked: a rule, a context, a name, or nothing
    acronym: bool = field(init=False)
    case_free: bool = field(init=False)
    # (offset in the alias, length, rule) of each word whose case matters.
    checks: tuple[tuple[int, int, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "acronym", "U" in self.case)
        object.__setattr__(self, "case_free", all(rule == "-" for rule in self.case))
        checks: list[tuple[int, int, str]] = []
        offset = 0
        for word, rule in zip(self.alias.split(" "), self.case, strict=False):
            if rule != "-":
                checks.append((offset, len(word), rule))
            offset += len(word) + 1
        object.__setattr__(self, "checks", tuple(checks))


@dataclass(frozen=True)
class _ContextRule:
    key: str
    alias: str  # folded
    drop_when: tuple[str, ...]  # folded phrases, padded with spaces
    keep_when: tuple[str, ...]


class _Plan:
    """What an alias can mean in one layer, with what the hot loop needs decided in advance.

    A plain class: compiled, its fields are read straight from a C struct in the hot loop.
    """

    def __init__(
        self,
        layer: int,
        candidates: tuple[_Candidate, ...],
        case_mode: int,  # _ANY_CASE, _CAPITALISED (one reading, first letter upper case) or _CHECK_EACH
        plain_keys: tuple[str, ...] | None,  # the keys, when nothing but the case needs checking
        acronym: bool,  # every reading is an acronym ("SCO" after "Shanghai Cooperation Organization")
    ) -> None:
        self.layer = layer
        self.candidates = candidates
        self.case_mode = case_mode
        self.plain_keys = plain_keys
        self.acronym = acronym


class _Matches:
    """Matches in the order the hot loop reads them: by first letter, then longest first.

    The automaton reports matches by where they end, so only nested ones ("Caspian" inside
    "Caspian Sea") come out of order, and an insertion step puts each in place: cheaper than a tuple
    per match and a sort. An alias holds a bounded number of others, so the steps stay short.
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.plans: list[tuple[_Plan, ...]] = []

    def add(self, start: int, end: int, plans: tuple[_Plan, ...]) -> None:
        starts, ends = self.starts, self.ends
        index = len(starts)
        while index > 0 and (starts[index - 1] > start or (starts[index - 1] == start and ends[index - 1] < end)):
            index -= 1
        if index == len(starts):
            starts.append(start)
            ends.append(end)
            self.plans.append(plans)
        else:
            starts.insert(index, start)
            ends.insert(index, end)
            self.plans.insert(index, plans)


class _LastPlain:
    """The last match counted at once in a layer, for an acronym right after its full name."""

    def __init__(self) -> None:
        self.end = -2
        self.unit = -1
        self.keys: tuple[str, ...] = ()
        self.acronym = False


_ANY_CASE: Final = 0
_CAPITALISED: Final = 1
_CHECK_EACH: Final = 2


def _case_mode(candidates: tuple[_Candidate, ...]) -> int:
    if all(c.case_free for c in candidates):
        return _ANY_CASE
    if len(candidates) == 1 and candidates[0].checks == ((0, len(candidates[0].alias.split(" ")[0]), "C"),):
        return _CAPITALISED
    return _CHECK_EACH


def _plain_keys(candidates: tuple[_Candidate, ...]) -> tuple[str, ...] | None:
    if any(c.special for c in candidates) or len(candidates) != 1:
        return None
    return (candidates[0].key,)  # type: ignore[return-value]


class _Hit:
    """A match whose reading depends on its sentence or on the whole article."""

    def __init__(self, unit: int, start: int, end: int, candidates: tuple[_Candidate, ...]) -> None:
        self.unit = unit
        self.start = start  # index of the first letter in the normalised text
        self.end = end  # index just past the last letter
        self.candidates = candidates


class Knowledge:
    """Everything enrich() knows about the world, built once and shared by every article."""

    def __init__(
        self,
        infos: Iterable[EntityInfo],
        aliases: Iterable[tuple[str, _Candidate]],
        lookup_names: Mapping[str, Iterable[str]],
        neighbours: Mapping[str, Iterable[str]],
        topics: Sequence[Topic],
        context_rules: Sequence[_ContextRule] = (),
        outlook_phrases: Sequence[str] = (),
        lowercase_only: frozenset[str] = frozenset(),
        cue_words: Sequence[str] = (),
    ) -> None:
        self._fold = _fold_table()
        self._infos = {info.key: info for info in infos}
        self._topics = tuple(topics)
        self._neighbours = {key: tuple(sorted(set(v))) for key, v in neighbours.items()}
        self._context_rules = {(rule.key, rule.alias): rule for rule in context_rules}
        self._patterns, self._pattern_keys = compile_patterns(self._topics)

        table: dict[str, list[_Candidate]] = {}
        outlook = [
            (
                phrase,
                _Candidate(
                    OUTLOOK_KEY,
                    _OUTLOOK,
                    tuple("L" if word in lowercase_only else "-" for word in self._folded_tokens(phrase)),
                    phrase,
                ),
            )
            for phrase in outlook_phrases
        ]
        for surface, candidate in [*aliases, *outlook]:
            folded = self._folded_tokens(surface)
            if not folded:
                continue
            bucket = table.setdefault(" ".join(folded), [])
            if candidate not in bucket:
                bucket.append(candidate)
        ruled = {(rule.key, rule.alias) for rule in context_rules}
        self._aliases = {
            key: tuple(
                replace(
                    c,
                    special=c.key is None or c.person_name or c.context_only or (c.key, c.alias) in ruled,
                )
                for c in bucket
            )
            for key, bucket in table.items()
        }
        # Per alias, per layer that it can match in: (layer, candidates, whether case matters).
        self._plan = {
            key: tuple(
                _Plan(
                    layer,
                    chosen,
                    _case_mode(chosen),
                    _plain_keys(chosen),
                    all(c.acronym for c in chosen),
                )
                for layer in _LAYERS
                if (chosen := tuple(c for c in bucket if c.layer == layer))
            )
            for key, bucket in self._aliases.items()
        }
        lengths: dict[str, set[int]] = {}
        for key in self._aliases:
            tokens = key.split(" ")
            lengths.setdefault(tokens[0], set()).add(len(tokens))
        self._starts = {tok: tuple(sorted(ns, reverse=True)) for tok, ns in lengths.items()}
        self._automaton, self._cues = _build_automaton(self._plan, cue_words)

        self._lookup: dict[str, tuple[str, ...]] = {}
        for name, keys in lookup_names.items():
            normal = normalise_name(name)
            if not normal:
                continue
            merged = set(self._lookup.get(normal, ())) | {k for k in keys if k in self._infos}
            self._lookup[normal] = tuple(sorted(merged, key=_key_order))

    # -- the public look-ups ---------------------------------------------------------------

    def entity(self, key: str) -> EntityInfo | None:
        return self._infos.get(key)

    def entities(self, kind: EntityKind | None = None) -> list[EntityInfo]:
        infos = sorted(self._infos.values(), key=lambda info: _key_order(info.key))
        return [info for info in infos if kind is None or info.kind == kind]

    def topics(self) -> list[EntityInfo]:
        return [topic.info() for topic in self._topics]

    def lookup(self, text: str) -> list[str]:
        """Entity keys for exactly what a user typed, ignoring case, accents and punctuation."""
        return list(self._lookup.get(normalise_name(text), ()))

    def names(self) -> dict[str, list[str]]:
        """Normalised name -> entity keys, for fuzzy "did you mean" matching."""
        return {name: list(keys) for name, keys in self._lookup.items()}

    def neighbours(self, country_key: str) -> tuple[str, ...]:
        return self._neighbours.get(country_key, ())

    # -- matching --------------------------------------------------------------------------

    def _cased(self, text: str) -> str:
        return _cased(text, self._fold)

    def _folded_tokens(self, text: str) -> list[str]:
        return self._cased(text).lower().split()

    def scan(self, units: Sequence[str]) -> tuple[list[dict[str, int]], list[bool]]:
        """Entity mentions in each unit (a title or a sentence), and which units look ahead.

        One pass over all the units; a match never spans two of them.
        """
        counts, forward, _ = self.scan_with_cues(units)
        return counts, forward

    def scan_with_cues(
        self, units: Sequence[str]
    ) -> tuple[list[dict[str, int]], list[bool], list[bool] | None]:
        """scan(units), and per unit whether one of the cue words stands in it (None: not known).

        A cue found is a superset of where the word stands as its reader wants it (the scan's text
        differs from the unit's only in punctuation, accents and case); a unit without one can be
        skipped.
        """
        text = f" {SEPARATOR} ".join(u.replace(SEPARATOR, " ") for u in units)
        # One space between words, one at each end: an alias " key " then only matches whole words,
        # and the lower-case copy has the same length, so a position in one is a position in both.
        cased = _collapse_spaces(b" " + _cased_utf8(text, self._fold) + b" ").decode("utf-8", "surrogatepass")
        lower = cased.lower()
        separators: list[int] = []
        position = lower.find(SEPARATOR)
        while position != -1:
            separators.append(position)
            position = lower.find(SEPARATOR, position + 1)
        cue_ends: list[int] = []
        if self._automaton is not None:
            matches = self._matches_automaton(lower, cue_ends)
        else:
            matches = self._matches_python(lower)
        counts, forward = self._collect(matches, cased, lower, separators, len(units))
        cues: list[bool] | None = None
        if self._cues and self._automaton is not None:
            cues = [False] * len(units)
            for end in cue_ends:
                cues[bisect_left(separators, end)] = True
        if self._patterns is not None:
            unit, position = 0, 0
            for match in self._patterns.finditer(text):
                unit += text.count(SEPARATOR, position, match.start())
                position = match.start()
                found = counts[unit]
                topic = self._pattern_keys[int(match.lastgroup[1:])]  # type: ignore[index]
                found[topic] = found.get(topic, 0) + 1
        return counts, forward, cues

    def _matches_automaton(self, lower: str, cue_ends: list[int]) -> _Matches:
        """Every alias in the text, leftmost then longest first; where each cue ends, in `cue_ends`."""
        matches = _Matches()
        found: Iterable[tuple[int, tuple[int, tuple[_Plan, ...]]]] = self._automaton.iter(lower)
        for end, (size, plans) in found:
            if size == _CUE:
                cue_ends.append(end)
            else:
                matches.add(end - size, end, plans)
        return matches

    def _matches_python(self, lower: str) -> _Matches:
        """The same as _matches_automaton, by walking the words through the hash-trie."""
        starts, plan = self._starts, self._plan
        words = lower.split()
        matches = _Matches()  # words left to right, longest first: each match goes on the end
        position = 1
        for i, word in enumerate(words):
            lengths = starts.get(word)
            if lengths is not None:
                for n in lengths:
                    key = word if n == 1 else " ".join(words[i : i + n])
                    plans = plan.get(key)
                    if plans is not None:
                        matches.add(position, position + len(key), plans)
            position += len(word) + 1
        return matches

    def _collect(
        self,
        matches: _Matches,
        cased: str,
        lower: str,
        separators: list[int],
        size: int,
    ) -> tuple[list[dict[str, int]], list[bool]]:
        """Count what the matches mean, unit by unit: the hot loop of enrichment.

        Leftmost-longest within each layer, among aliases written in the right case; plain readings
        are counted at once, the few that need their sentence or the whole article (a context rule,
        a person's name, an implied name) are settled afterwards.
        """
        counts: list[dict[str, int]] = [{} for _ in range(size)]
        # Matches come sorted by position: the unit they fall in only ever moves forward.
        boundaries = [*separators, len(lower) + 1]
        unit = 0
        next_boundary = boundaries[0]
        forward = [False] * size
        # The first position each layer may match again (locals: compiled, they stay C integers).
        free_gazetteer = free_topics = free_outlook = 0
        last = [_LastPlain(), _LastPlain()]  # per layer with keys: gazetteer, topics
        deferred: list[_Hit] = []
        spans: list[tuple[int, int]] = []  # what the gazetteer matched, for the person-name rule
        starts, ends, all_plans = matches.starts, matches.ends, matches.plans
        for index in range(len(starts)):
            start = starts[index]
            if start < free_gazetteer and start < free_topics and start < free_outlook:
                continue
            end = ends[index]
            for plan in all_plans[index]:
                layer = plan.layer
                if layer == _GAZETTEER:
                    if start < free_gazetteer:
                        continue
                elif layer == _TOPICS:
                    if start < free_topics:
                        continue
                elif start < free_outlook:
                    continue
                keys = plan.plain_keys
                chosen = plan.candidates
                case_mode = plan.case_mode
                if case_mode == _CAPITALISED:
                    if not cased[start].isupper():
                        continue
                elif case_mode == _CHECK_EACH:
                    chosen = tuple(c for c in chosen if _case_ok(c.checks, cased, start))
                    if not chosen:
                        continue
                    if layer == _GAZETTEER and len(chosen) > 1 and any(c.acronym for c in chosen):
                        chosen = tuple(c for c in chosen if c.acronym)  # "GUAM" the body, not Guam
                    if len(chosen) != len(plan.candidates):
                        keys = None
                while start > next_boundary:
                    unit += 1
                    next_boundary = boundaries[unit]
                if layer == _OUTLOOK:
                    free_outlook = end
                    forward[unit] = True
                    continue
                if layer == _GAZETTEER:
                    free_gazetteer = end
                    spans.append((start, end))
                else:
                    free_topics = end
                if keys is None:
                    deferred.append(_Hit(unit, start, end, chosen))
                    continue
                before = last[layer]
                if plan.acronym and before.end + 1 == start and before.unit == unit and not before.acronym:
                    keys = tuple(k for k in keys if k not in before.keys)  # "... Organization (SCO)"
                before.end = end
                before.unit = unit
                before.keys = keys
                before.acronym = plan.acronym
                found = counts[unit]
                for k in keys:
                    found[k] = found.get(k, 0) + 1
        if deferred:
            self._settle(deferred, cased, lower, spans, counts)
        return counts, forward

    def _settle(
        self,
        hits: list[_Hit],
        cased: str,
        lower: str,
        spans: list[tuple[int, int]],
        counts: list[dict[str, int]],
    ) -> None:
        """The readings that depend on their sentence or on the whole article."""
        kept: list[tuple[_Hit, set[str]]] = []
        for hit in hits:
            keys: set[str] = set()
            for candidate in hit.candidates:
                if candidate.key is None:
                    continue
                if candidate.person_name and _looks_like_person(hit, cased, spans):
                    continue
                rule = self._context_rules.get((candidate.key, candidate.alias))
                if rule is not None and _rule_drops(rule, hit, lower):
                    continue
                keys.add(candidate.key)
            if keys:
                kept.append((hit, keys))
        if any(c.context_only for hit, _ in kept for c in hit.candidates):
            named = {key for found in counts for key in found}
            named |= {c.key for hit, keys in kept for c in hit.candidates if c.key in keys and not c.context_only}
            kept = [
                (hit, {k for k in keys if k in named or not _implied(hit, k)}) for hit, keys in kept
            ]
        for hit, keys in kept:
            found = counts[hit.unit]
            for key in keys:
                found[key] = found.get(key, 0) + 1


def _implied(hit: _Hit, key: str) -> bool:
    return any(c.key == key and c.context_only for c in hit.candidates)


def _case_ok(checks: tuple[tuple[int, int, str], ...], cased: str, start: int) -> bool:
    for offset, size, rule in checks:
        begin = start + offset
        if rule == "C":
            if not cased[begin].isupper():
                return False
        elif rule == "U":
            if not cased[begin : begin + size].isupper():
                return False
        elif not cased[begin : begin + size].islower():
            return False
    return True


def _unit_span(text: str, start: int) -> tuple[int, int]:
    """The span of the unit (title or sentence) around a position of the normalised text."""
    begin = text.rfind(SEPARATOR, 0, start) + 1
    end = text.find(SEPARATOR, start)
    return begin, len(text) if end == -1 else end


def _looks_like_person(hit: _Hit, cased: str, spans: list[tuple[int, int]]) -> bool:
    """ "Michael Jordan", "Chad Smith": a capitalised word that is no known name sits next to it."""
    begin, end = _unit_span(cased, hit.start)
    words = cased[begin:end].split()
    capitalised = sum(1 for w in words if w[0].isupper())
    if len(words) > 3 and capitalised / len(words) > 0.6:
        return False  # a headline in title case says nothing about names
    first_word = begin + 1 if cased[begin : begin + 1] == " " else begin
    neighbours: list[tuple[int, str]] = []
    if hit.start > first_word:
        previous = cased.rfind(" ", 0, hit.start - 1) + 1
        if previous > first_word:  # the sentence's first word is capitalised anyway
            neighbours.append((previous, cased[previous : hit.start - 1]))
    if hit.end + 1 < end:
        following = cased.find(" ", hit.end + 1)
        neighbours.append((hit.end + 1, cased[hit.end + 1 : following if following != -1 else end]))
    for position, word in neighbours:
        if not word or any(s <= position < e for s, e in spans):
            continue
        if word[0].isupper() and word.lower() not in _FUNCTION_WORDS and not word.isupper():
            return True
    return False


def _rule_drops(rule: _ContextRule, hit: _Hit, lower: str) -> bool:
    begin, end = _unit_span(lower, hit.start)
    sentence = " " + " ".join(lower[begin:end].split()) + " "
    if any(phrase in sentence for phrase in rule.keep_when):
        return False
    return any(phrase in sentence for phrase in rule.drop_when)


def _key_order(key: str) -> tuple[int, str]:
    return (_KIND_ORDER[entity_kind(key)], key)


def _flag(alpha_2: str) -> str:
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in alpha_2.upper())


def _case_pattern(surface: str, layer: int, fold: Mapping[int, str]) -> tuple[str, ...]:
    pattern: list[str] = []
    for token in _cased(surface, fold).split():
        if len(token) > 1 and token.isupper():
            pattern.append("U")
        elif layer == _TOPICS:
            pattern.append("-")
        elif len(token) == 1 and token.isupper() and surface.replace(".", "").isupper():
            pattern.append("U")  # the letters of "U.S." and "E.U."
        elif token[0].isupper():
            pattern.append("C")
        else:
            pattern.append("-")
    return tuple(pattern)


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


def _load_yaml(path: Path) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loader
    return data or {}


def load_knowledge(data_dir: Path) -> Knowledge:
    """Read countries, organisations and topics from `data_dir` and build the one matcher."""
    data_dir = Path(data_dir)
    countries_doc = _load_yaml(data_dir / "countries.yaml")
    orgs_doc = _load_yaml(data_dir / "organisations.yaml")
    topics = load_topics(data_dir / "topics.yaml")
    fold = _fold_table()

    infos: list[EntityInfo] = []
    aliases: list[tuple[str, _Candidate]] = []
    names: dict[str, set[str]] = {}
    neighbours: dict[str, set[str]] = {}
    person_names = {normalise_name(n) for n in _strings(countries_doc.get("person_names"))}

    def add_alias(surface: str, key: str | None, layer: int, context_only: bool = False) -> None:
        case = _case_pattern(surface, layer, fold)
        folded = " ".join(_cased(surface, fold).lower().split())
        if not folded:
            return
        person = key is not None and key.startswith(COUNTRY_PREFIX) and normalise_name(surface) in person_names
        aliases.append(
            (surface, _Candidate(key, layer, case, folded, context_only, person))
        )
        if key is not None:
            names.setdefault(surface, set()).add(key)

    country_entries: Mapping[str, Mapping] = countries_doc.get("countries") or {}
    for country in pycountry.countries:
        code = country.alpha_2
        entry = country_entries.get(code) or {}
        key = COUNTRY_PREFIX + code
        display = str(entry.get("name") or getattr(country, "common_name", None) or country.name)
        infos.append(
            EntityInfo(key=key, kind="country", name=display, emoji=str(entry.get("emoji") or _flag(code)))
        )
        for code_name in (code, country.alpha_3):
            names.setdefault(code_name, set()).add(key)
        official = [
            n
            for n in (country.name, getattr(country, "common_name", None), getattr(country, "official_name", None))
            if n and "," not in n and "(" not in n
        ]
        for surface in [display, *official]:
            add_alias(surface.removeprefix("the "), key, _GAZETTEER)
        for part in ("aliases", "adjectives", "capitals", "places"):
            for surface in _strings(entry.get(part)):
                add_alias(surface, key, _GAZETTEER)
        for surface in _strings(entry.get("context_aliases")):
            add_alias(surface, key, _GAZETTEER, context_only=True)
        for other in _strings(entry.get("neighbours")):
            neighbours.setdefault(key, set()).add(COUNTRY_PREFIX + other)
            neighbours.setdefault(COUNTRY_PREFIX + other, set()).add(key)
    unknown = set(country_entries) - {c.alpha_2 for c in pycountry.countries}
    if unknown:
        raise ValueError(f"countries.yaml: not ISO 3166-1 alpha-2 codes: {sorted(unknown)}")
    for surface in _strings(countries_doc.get("not_countries")):
        add_alias(surface, None, _GAZETTEER)

    topic_keys = {topic.key for topic in topics}
    for entry in orgs_doc.get("organisations") or ():
        key = ORG_PREFIX + str(entry["key"]).upper()
        infos.append(
            EntityInfo(
                key=key,
                kind="org",
                name=str(entry.get("name") or entry["key"]),
                emoji=str(entry.get("emoji") or ""),
                description=str(entry.get("description") or ""),
            )
        )
        names.setdefault(str(entry["key"]), set()).add(key)
        org_topics = [t for t in ("t:" + str(t) for t in _strings(entry.get("topics"))) if t in topic_keys]
        surfaces = [str(entry.get("name") or ""), *_strings(entry.get("aliases"))]
        for surface in surfaces + _strings(entry.get("metonyms")):
            add_alias(surface, key, _GAZETTEER)
        for surface in surfaces:
            for topic_key in org_topics:
                add_alias(surface, topic_key, _TOPICS)

    for topic in topics:
        infos.append(topic.info())
        bare = topic.key.removeprefix("t:")
        for name in (bare, bare.replace("-", " "), topic.name):
            names.setdefault(name, set()).add(topic.key)
        for phrase in topic.phrases:
            for form in plural_forms(phrase):
                add_alias(form, topic.key, _TOPICS)

    rules = [
        _ContextRule(
            key=str(rule["key"]),
            alias=" ".join(_cased(str(rule["alias"]), fold).lower().split()),
            drop_when=tuple(_padded(p, fold) for p in _strings(rule.get("drop_when_sentence_has"))),
            keep_when=tuple(_padded(p, fold) for p in _strings(rule.get("keep_when_sentence_has"))),
        )
        for rule in countries_doc.get("context_rules") or ()
    ]
    cues = (*RELATIVE_CUES, *WORD_UNIT_CUES)
    return Knowledge(infos, aliases, names, neighbours, topics, rules, FORWARD_PHRASES, LOWERCASE_ONLY, cues)


def _padded(phrase: str, fold: Mapping[int, str]) -> str:
    return " " + " ".join(_cased(phrase, fold).lower().split()) + " "
