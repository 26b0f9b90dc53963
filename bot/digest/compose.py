"""The digest view: which analyses a digest carries, grouped, and rendered into messages.

Owns the selection rule (articles first stored in the window (start, end] by
`Article.ingested_at`, whatever their publication date, that match the filters), the
grouping (by the filter that matched, or by the primary country when there are no
filters), the "most discussed" line, and the edition: the rendered messages of one
(audience, frequency, filters, window), identified by a hash so that every subscriber
with the same filters and window shares one compose.

Keywords are matched as plain text: the phrase is escaped, its spaces match any run of
whitespace, and it must stand on word boundaries in the title, lede or body
(case-insensitive). User input never becomes a regular expression.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session

from bot.briefing.compose import source_ref
from bot.briefing.messages import OutMessage, button, keyboard
from bot.briefing.views import SourceRef
from bot.enrich.model import EntityInfo
from bot.enrich.sentences import split_sentences
from bot.ingest.text import trim_words
from bot.store.models import Article, Mention

if TYPE_CHECKING:
    from bot.briefing.render import Renderer
    from bot.enrich import Knowledge

TEMPLATE = "digest.html.j2"
LEDE_CHARS = 320
MOST_DISCUSSED = 5
BRIEFING_BUTTONS = 3
CHAT = "chat"
CHANNEL = "channel"  # the operator's public edition: no buttons (anyone could press them)


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterSet:
    """What a subscription narrows its digest to; empty means every new analysis."""

    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> FilterSet:
        entities = sorted({value for kind, value in pairs if kind == "entity"})
        keywords = sorted({value for kind, value in pairs if kind == "keyword"})
        return cls(tuple(entities), tuple(keywords))

    @property
    def empty(self) -> bool:
        return not self.entities and not self.keywords

    def tokens(self) -> list[str]:
        return [f"e:{key}" for key in self.entities] + [f"k:{word}" for word in self.keywords]


@lru_cache(maxsize=4096)
def keyword_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


# --- the articles of a run ------------------------------------------------------------------


@dataclass
class PoolArticle:
    article: Article
    text: str  # title, lede and body: what keywords are matched in
    mentions: dict[str, Mention] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.article.id

    def primary(self, prefix: str) -> list[str]:
        found = [
            m for m in self.mentions.values() if m.is_primary and m.entity_key.startswith(prefix)
        ]
        return [m.entity_key for m in sorted(found, key=lambda m: (-m.salience, m.entity_key))]

    def topics(self) -> list[str]:
        found = [m for m in self.mentions.values() if m.entity_key.startswith("t:")]
        return [m.entity_key for m in sorted(found, key=lambda m: (-m.salience, m.entity_key))]


class ArticlePool:
    """Articles loaded once per run and shared by every edition composed in it.

    A window asks the index on `ingested_at` for ids; only articles not seen yet in this
    run are loaded, with their mentions.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.articles: dict[int, PoolArticle] = {}
        self.windows: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}

    def window(self, start: dt.datetime, end: dt.datetime) -> list[PoolArticle]:
        ids = self.windows.get((start, end))
        if ids is None:
            ids = list(
                self.session.execute(
                    select(Article.id).where(
                        Article.ingested_at > start, Article.ingested_at <= end
                    )
                ).scalars()
            )
            self.windows[(start, end)] = ids
            self._load([i for i in ids if i not in self.articles])
        return [self.articles[i] for i in ids if i in self.articles]

    def _load(self, ids: list[int], chunk: int = 500) -> None:
        for begin in range(0, len(ids), chunk):
            part = ids[begin : begin + chunk]
            for article in self.session.execute(
                select(Article).where(Article.id.in_(part))
            ).scalars():
                text = "\n".join((article.title or "", article.lede or "", article.body or ""))
                self.articles[article.id] = PoolArticle(article, text)
            for mention in self.session.execute(
                select(Mention).where(Mention.article_id.in_(part))
            ).scalars():
                pooled = self.articles.get(mention.article_id)
                if pooled is not None:
                    pooled.mentions[mention.entity_key] = mention


def newest_first(articles: Iterable[PoolArticle]) -> list[PoolArticle]:
    def order(item: PoolArticle) -> tuple:
        a = item.article
        published = a.published.toordinal() if a.published else 0
        return (-published, -a.ingested_at.timestamp(), -a.id)

    return sorted(articles, key=order)


def match(article: PoolArticle, filters: FilterSet) -> str | None:
    """The group an article falls in for these filters, or None when it does not match."""
    if filters.empty:
        for prefix in ("c:", "o:"):
            primary = article.primary(prefix)
            if primary:
                return f"e:{primary[0]}"
        topics = article.topics()
        return f"e:{topics[0]}" if topics else "other"
    for key in filters.entities:
        if key in article.mentions:
            return f"e:{key}"
    for phrase in filters.keywords:
        if keyword_pattern(phrase).search(article.text):
            return f"k:{phrase}"
    return None


# --- the view -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    source: SourceRef
    flags: str
    lede: str
    topics: tuple[EntityInfo, ...]


@dataclass
class DigestGroup:
    token: str  # "e:c:AM", "k:pipeline" or "other"
    label: str
    emoji: str
    command: str | None  # how to open the full briefing: "/brief_am", "/topic_caspian"
    items: list[DigestItem] = field(default_factory=list)


@dataclass(frozen=True)
class FilterLabel:
    emoji: str
    name: str
    keyword: bool


@dataclass
class DigestView:
    frequency: str
    window_start: dt.datetime
    window_end: dt.datetime
    filters: list[FilterLabel]
    total: int
    groups: list[DigestGroup]
    most_discussed: list[EntityInfo]
    audience: str = CHAT
    preview: bool = False

    @property
    def shown(self) -> int:
        return sum(len(g.items) for g in self.groups)

    @property
    def more(self) -> int:
        return self.total - self.shown

    @property
    def briefing_commands(self) -> list[str]:
        return [g.command for g in self.groups if g.command and g.token.startswith("e:")]

    @property
    def more_hint(self) -> str:
        first = next(
            (g.command for g in self.groups if g.command and g.token.startswith("e:")), None
        )
        return (
            f"/latest lists the newest; {first} opens the full briefing"
            if first
            else "/latest lists the newest"
        )


def briefing_command(key: str) -> str | None:
    kind, _, code = key.partition(":")
    if kind in ("c", "o"):
        return f"/brief_{code.lower()}" if re.fullmatch(r"[A-Za-z0-9_]{1,40}", code) else None
    if kind == "t":
        return f"/topic_{code.replace('-', '_')}"
    return None


def _entity(knowledge: Knowledge, key: str) -> EntityInfo:
    info = knowledge.entity(key)
    if info is not None:
        return info
    kind = {"c": "country", "o": "org", "t": "topic"}.get(key[:1], "topic")
    return EntityInfo(key, kind, key.partition(":")[2] or key, "")  # type: ignore[arg-type]


def filter_labels(filters: FilterSet, knowledge: Knowledge) -> list[FilterLabel]:
    labels = [
        FilterLabel(_entity(knowledge, k).emoji, _entity(knowledge, k).name, False)
        for k in filters.entities
    ]
    return labels + [FilterLabel("🔎", phrase, True) for phrase in filters.keywords]


def _group(token: str, knowledge: Knowledge) -> DigestGroup:
    if token.startswith("e:"):
        info = _entity(knowledge, token[2:])
        return DigestGroup(token, info.name, info.emoji, briefing_command(info.key))
    if token.startswith("k:"):
        phrase = token[2:]
        return DigestGroup(token, f"“{phrase}”", "🔎", None)
    return DigestGroup(token, "Other analysis", "📰", None)


def lede_of(article: Article) -> str:
    text = (article.lede or "").strip() or (article.body or "").strip()
    sentences = split_sentences(text)[:2] if text else []
    picked = " ".join(sentences)
    if len(sentences) == 2 and len(picked) > LEDE_CHARS:
        picked = sentences[0]
    return trim_words(picked or text, LEDE_CHARS)


def compose_digest(
    pool: ArticlePool,
    knowledge: Knowledge,
    filters: FilterSet,
    window_start: dt.datetime,
    window_end: dt.datetime,
    *,
    frequency: str,
    max_items: int,
    audience: str = CHAT,
) -> DigestView:
    matched: list[tuple[PoolArticle, str]] = []
    for article in newest_first(pool.window(window_start, window_end)):
        token = match(article, filters)
        if token is not None:
            matched.append((article, token))
    shown = matched[: max(0, max_items)]
    # Groups in the order of their newest analysis; numbers in reading order.
    grouped: dict[str, list[PoolArticle]] = {}
    for article, token in shown:
        grouped.setdefault(token, []).append(article)
    groups: dict[str, DigestGroup] = {}
    mention_totals: Counter[str] = Counter()
    number = 0
    for token, articles in grouped.items():
        group = groups[token] = _group(token, knowledge)
        for article in articles:
            number += 1
            flags = "".join(_entity(knowledge, k).emoji for k in article.primary("c:")[:3])
            topics = tuple(_entity(knowledge, k) for k in article.topics()[:3])
            group.items.append(
                DigestItem(
                    source_ref(article.article, number), flags, lede_of(article.article), topics
                )
            )
            for key, mention in article.mentions.items():
                mention_totals[key] += mention.mentions
    discussed = [
        _entity(knowledge, key)
        for key, _count in sorted(mention_totals.items(), key=lambda kv: (-kv[1], kv[0]))[
            :MOST_DISCUSSED
        ]
    ]
    return DigestView(
        frequency=frequency,
        window_start=window_start,
        window_end=window_end,
        filters=filter_labels(filters, knowledge),
        total=len(matched),
        groups=list(groups.values()),
        most_discussed=discussed,
        audience=audience,
    )


def render_digest(
    view: DigestView, renderer: Renderer, *, nothing_new_note: bool
) -> list[OutMessage]:
    """The messages of a digest; none when there is nothing new and no note is wanted."""
    if view.total == 0 and not nothing_new_note and not view.preview:
        return []
    html_text = renderer.html(TEMPLATE, d=view)
    markup = None
    if view.audience == CHAT and view.total:
        buttons = [
            button(f"{g.emoji} {g.label} briefing"[:40], "b", g.token[2:])
            for g in view.groups
            if g.token.startswith("e:")
        ][:BRIEFING_BUTTONS]
        markup = keyboard(*([b] for b in buttons))
    return renderer.messages(html_text, markup=markup, view="digest")


# --- editions -----------------------------------------------------------------------------


def edition_key(
    *,
    audience: str,
    frequency: str,
    filters: FilterSet,
    window_start: dt.datetime,
    window_end: dt.datetime,
    max_items: int,
    nothing_new_note: bool,
) -> str:
    parts: Sequence[str] = (
        audience,
        frequency,
        "|".join(filters.tokens()),
        window_start.astimezone(dt.UTC).isoformat(),
        window_end.astimezone(dt.UTC).isoformat(),
        str(max_items),
        "note" if nothing_new_note else "silent",
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass
class ComposedEdition:
    key: str
    item_count: int
    messages: list[dict]


class EditionComposer:
    """Composes each distinct (audience, frequency, filters, window) once per run."""

    def __init__(
        self,
        session: Session,
        knowledge: Knowledge,
        renderer: Renderer,
        *,
        max_items: int,
        nothing_new_note: bool,
    ) -> None:
        self.pool = ArticlePool(session)
        self.knowledge = knowledge
        self.renderer = renderer
        self.max_items = max_items
        self.nothing_new_note = nothing_new_note
        self.composed: dict[str, ComposedEdition] = {}
        self.by_identity: dict[tuple, ComposedEdition] = {}
        self.compose_count = 0

    def key(
        self,
        *,
        audience: str,
        frequency: str,
        filters: FilterSet,
        start: dt.datetime,
        end: dt.datetime,
    ) -> str:
        return edition_key(
            audience=audience,
            frequency=frequency,
            filters=filters,
            window_start=start,
            window_end=end,
            max_items=self.max_items,
            nothing_new_note=self.nothing_new_note,
        )

    def edition(
        self,
        *,
        audience: str,
        frequency: str,
        filters: FilterSet,
        start: dt.datetime,
        end: dt.datetime,
    ) -> ComposedEdition:
        identity = (audience, frequency, filters, start, end)
        found = self.by_identity.get(identity)
        if found is not None:
            return found
        key = self.key(
            audience=audience, frequency=frequency, filters=filters, start=start, end=end
        )
        found = self.composed.get(key)
        if found is None:
            view = compose_digest(
                self.pool,
                self.knowledge,
                filters,
                start,
                end,
                frequency=frequency,
                max_items=self.max_items,
                audience=audience,
            )
            messages = render_digest(view, self.renderer, nothing_new_note=self.nothing_new_note)
            found = self.composed[key] = ComposedEdition(
                key, view.total, [m.to_json() for m in messages]
            )
            self.compose_count += 1
        self.by_identity[identity] = found
        return found
