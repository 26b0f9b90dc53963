"""View models: what a briefing says, composed from the store, before any rendering.

Every quoted line carries the number of the source it comes from; sources are numbered
in the order a view first cites them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.enrich.model import EntityInfo


@dataclass(frozen=True)
class SourceRef:
    number: int
    article_id: int
    title: str
    title_inferred: bool
    author: str | None
    published: dt.date | None
    date_inferred: bool
    url: str | None
    date_precision: str = "day"


@dataclass(frozen=True)
class Quote:
    """A sentence quoted (or trimmed at a word boundary) from one article."""

    text: str
    source: int  # SourceRef.number


@dataclass(frozen=True)
class DatedLine:
    date: dt.date
    precision: str  # day, month, year
    year_inferred: bool
    quote: Quote


@dataclass(frozen=True)
class Relation:
    entity: EntityInfo
    article_count: int
    sentence_count: int
    evidence: Quote | None


@dataclass(frozen=True)
class FigureLine:
    phrase: str
    quote: Quote


@dataclass(frozen=True)
class TopicCount:
    entity: EntityInfo
    count: int


@dataclass
class Briefing:
    entity: EntityInfo
    article_count: int
    first_published: dt.date | None
    last_published: dt.date | None
    as_of: dt.date
    situation: list[Quote] = field(default_factory=list)
    developments: list[DatedLine] = field(default_factory=list)
    outlook: list[Quote] = field(default_factory=list)
    upcoming: list[DatedLine] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)  # countries (and orgs) discussed with it
    figures: list[FigureLine] = field(default_factory=list)
    related_topics: list[TopicCount] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    event_count: int = 0

    @property
    def is_topic(self) -> bool:
        return self.entity.kind == "topic"


@dataclass
class Timeline:
    entity: EntityInfo
    lines: list[DatedLine]
    sources: list[SourceRef]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class ArticleSection:
    name: str
    paragraphs: tuple[str, ...]


@dataclass
class ArticleView:
    source: SourceRef
    category: str | None
    sections: list[ArticleSection]
    author_bio: str | None
    entities: list[EntityInfo]  # primary countries first, then other countries, orgs
    topics: list[EntityInfo]
    summary_only: bool = False


@dataclass(frozen=True)
class ArticleSummary:
    source: SourceRef  # numbered in list order
    lede: str
    flags: str  # the flags of its primary countries
    topics: tuple[EntityInfo, ...]
    snippet: str | None = None  # search: the matching passage


@dataclass
class ArticleList:
    title: str
    items: list[ArticleSummary]
    query: str | None = None
    total: int | None = None
    truncated: bool = False  # search stopped at its limit or time cap


@dataclass(frozen=True)
class CoverageRow:
    entity: EntityInfo
    article_count: int
    last_published: dt.date | None


@dataclass
class CoverageList:
    kind: str  # country, topic
    rows: list[CoverageRow]
