"""The data enrichment produces: immutable values (named tuples for the many small ones,
which are built by the thousand per second), no database, no I/O.

Entity keys are short strings shared by every layer (store rows, callback data, JSON):
  countries      "c:" + ISO 3166-1 alpha-2, e.g. "c:AM"
  organisations  "o:" + upper-case key,     e.g. "o:NATO", "o:OTS"
  topics         "t:" + topic key,          e.g. "t:caspian", "t:middle-corridor"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, TypeVar

_Tuple = TypeVar("_Tuple", bound=tuple[Any, ...])
_TUPLE_NEW: Final[Any] = tuple.__new__


def new_tuple(cls: type[_Tuple], values: tuple[Any, ...]) -> _Tuple:
    """cls(*values) for a named tuple, without its generated Python __new__.

    Enrichment builds a few hundred named tuples per article; compiled, calling the class costs
    several times more than the tuple itself. The fields go in declaration order, all of them
    (defaults included).
    """
    if len(values) != len(cls._fields):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} takes {len(cls._fields)} values, got {len(values)}")  # type: ignore[attr-defined]
    return _TUPLE_NEW(cls, values)  # type: ignore[no-any-return]


EntityKind = Literal["country", "org", "topic"]
Precision = Literal["day", "month", "year"]
FigureKind = Literal["money", "percent", "quantity", "duration", "count"]

# Canonical section names an article's text is split into.
LEDE: Final = "Lede"
BACKGROUND: Final = "Background"
IMPLICATIONS: Final = "Implications"
CONCLUSIONS: Final = "Conclusions"
TEXT: Final = "Text"  # a short field report without labelled sections


def entity_kind(key: str) -> EntityKind:
    prefix = key[:2]
    if prefix == "c:":
        return "country"
    if prefix == "o:":
        return "org"
    if prefix == "t:":
        return "topic"
    raise ValueError(f"not an entity key: {key!r}")


@dataclass(frozen=True)
class Section:
    name: str  # one of the canonical names above, or a label found in the source
    text: str  # paragraphs separated by a blank line ("\n\n")


@dataclass(frozen=True)
class EntityInfo:
    key: str
    kind: EntityKind
    name: str  # display name: "Armenia", "NATO", "Caspian Sea"
    emoji: str  # flag for countries, an emoji for organisations and topics ("" if none)
    description: str = ""
    related: tuple[str, ...] = ()  # related topic keys (topics only)


class SentenceInfo(NamedTuple):
    index: int  # type: ignore[assignment]  # shadows tuple.index; position in the article, 0-based, over all sections in order
    section: str
    paragraph: int  # paragraph index within its section
    text: str  # the sentence exactly as in the article (whitespace normalised)
    entities: tuple[str, ...]  # sorted entity keys mentioned or implied in this sentence
    forward_looking: bool  # outlook language: "will", "is likely to", "could", "expected"...


class EntityScore(NamedTuple):
    key: str
    mentions: int
    salience: float  # 0..1, title and lede weigh more than the body
    primary: bool  # one of the one to three entities of its kind the article is mainly about
    # Whether the entity counts for the article at all: a topic needs two mentions, or one in the
    # title or lede; countries and organisations count from their first mention.
    relevant: bool = True


class DatedEvent(NamedTuple):
    sentence_index: int
    date: dt.date  # the first day of the period for month and year precision
    precision: Precision
    year_inferred: bool
    phrase: str  # the dating phrase as written: "On October 8, 2024", "in July"
    entities: tuple[str, ...]  # sorted, as in the sentence


class KeyFigure(NamedTuple):
    sentence_index: int
    phrase: str  # as written: "US$ 12.4 billion", "27 percent", "a 20-mile corridor"
    kind: FigureKind
    value: float | None
    unit: str | None  # "USD", "%", "bcm", "mile", "year", ...
    entities: tuple[str, ...]


@dataclass(frozen=True)
class Enrichment:
    sentences: tuple[SentenceInfo, ...]
    entities: tuple[EntityScore, ...]  # countries, organisations and topics of the article
    events: tuple[DatedEvent, ...]
    figures: tuple[KeyFigure, ...]
