"""What the user typed -> an entity key, a "did you mean", or a plain "unknown".

Exact matches come from the knowledge base's aliases (names, ISO codes, demonyms,
capitals, topic keys and phrases; case- and accent-insensitive); typos get the closest
one to three names by rapidfuzz; a known country without coverage gets neighbours that
have some.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.enrich import Knowledge, normalise_name
from bot.enrich.model import EntityInfo

MAX_QUERY_CHARS = 200
SUGGESTION_CUTOFF = 72


@dataclass(frozen=True)
class Resolution:
    """Exactly one of: a key, suggestions, or nothing (unknown / empty)."""

    query: str
    key: str | None = None
    suggestions: tuple[EntityInfo, ...] = ()
    empty: bool = False
    too_long: bool = False
    neighbours: tuple[EntityInfo, ...] = field(default=())  # filled when the key has no coverage


def resolve(
    text: str,
    knowledge: Knowledge,
    *,
    kinds: Iterable[str] = ("country", "org", "topic"),
    prefer: str | None = None,
) -> Resolution:
    query = " ".join(text.split())
    if not query:
        return Resolution(query, empty=True)
    if len(query) > MAX_QUERY_CHARS:
        return Resolution(query[:40], too_long=True)
    allowed = set(kinds)
    keys = [k for k in knowledge.lookup(query) if knowledge.entity(k) and knowledge.entity(k).kind in allowed]
    if keys:
        if prefer:
            keys.sort(key=lambda k: knowledge.entity(k).kind != prefer)
        return Resolution(query, key=keys[0])
    return Resolution(query, suggestions=tuple(suggest(query, knowledge, allowed)))


def suggest(query: str, knowledge: Knowledge, kinds: set[str], limit: int = 3) -> list[EntityInfo]:
    names = knowledge.names()
    normalised = normalise_name(query)
    if not normalised or len(normalised) < 3:
        return []
    matches = process.extract(normalised, list(names), scorer=fuzz.WRatio, limit=12, score_cutoff=SUGGESTION_CUTOFF)
    found: list[EntityInfo] = []
    for name, _score, _ in matches:
        # Very short aliases (codes) match too much by partial ratio; need a close full match.
        if len(name) <= 3 and fuzz.ratio(normalised, name) < 80:
            continue
        for key in names[name]:
            info = knowledge.entity(key)
            if info and info.kind in kinds and info not in found:
                found.append(info)
        if len(found) >= limit:
            break
    return found[:limit]


def neighbours_with_coverage(
    key: str, knowledge: Knowledge, covered: Callable[[list[str]], set[str]], limit: int = 4
) -> tuple[EntityInfo, ...]:
    candidates = list(knowledge.neighbours(key))
    with_coverage = covered(candidates)
    return tuple(knowledge.entity(k) for k in candidates if k in with_coverage and knowledge.entity(k))[:limit]
