"""Storing records: dedupe, insert or update in place, enrich, keep derived tables current.

The one path every carrier (capture file, JSON Lines, feed, page) takes into the store,
inside the caller's transaction. Rows are written in batches with Core executemany and
ids allocated up front (a sequence range on PostgreSQL; on SQLite, past the largest id
while this transaction holds the write lock), because the ORM's per-row inserts with
RETURNING cost more than enrichment itself.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Table, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.enrich import Knowledge, enrich, infer_as_of
from bot.enrich.model import Enrichment, Section
from bot.ingest.records import ArticleRecord
from bot.store.derived import apply_relation_delta, pair_counts, refresh_entity_stats
from bot.store.models import (
    Article,
    Entity,
    EntityStats,
    Event,
    EventEntity,
    Figure,
    FigureEntity,
    Mention,
    Sentence,
    SentenceEntity,
    utcnow,
)

CHUNK = 200


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    article_ids: list[int] = field(default_factory=list)



def _upsert(session: Session, table: Table):  # noqa: ANN202
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def sync_entities(session: Session, knowledge: Knowledge) -> None:
    """Every entity the knowledge base knows, with its current name and emoji."""
    rows = [{"key": e.key, "kind": e.kind, "name": e.name, "emoji": e.emoji} for e in knowledge.entities()]
    stmt = _upsert(session, Entity.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"kind": stmt.excluded.kind, "name": stmt.excluded.name, "emoji": stmt.excluded.emoji},
    )
    session.execute(stmt, rows)


class IdAllocator:
    """Hands out primary keys in ranges, so that child rows can be written without RETURNING."""

    RESERVE = 256  # PostgreSQL: ids fetched per round trip; unused ones are only a gap

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.next: dict[str, int] = {}
        self.reserved: dict[str, list[int]] = defaultdict(list)

    def take(self, table: Table, count: int) -> list[int]:
        if count == 0:
            return []
        if self.postgres:
            pool = self.reserved[table.name]
            if len(pool) < count:
                pool.extend(
                    self.session.execute(
                        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                        {"table": table.name, "n": max(count - len(pool), self.RESERVE)},
                    ).scalars()
                )
            taken, self.reserved[table.name] = pool[:count], pool[count:]
            return taken
        if table.name not in self.next:
            # The caller's transaction already wrote (sync_entities), so it holds SQLite's
            # single write lock: nobody else can insert between this read and our inserts.
            self.next[table.name] = (self.session.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        start = self.next[table.name]
        self.next[table.name] = start + count
        return list(range(start, start + count))


@dataclass
class RowBatch:
    """Rows of many articles, written table by table in one executemany each."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    sentence_entities: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_entities: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    figure_entities: list[dict[str, Any]] = field(default_factory=list)
    pairs: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def add_all(self, ids: IdAllocator, items: Sequence[tuple[int, Any, Enrichment]]) -> None:
        """Enrichments of many articles; ids are taken once per table for all of them."""
        sentence_ids = iter(ids.take(Sentence.__table__, sum(len(r.sentences) for _, _, r in items)))
        event_ids = iter(ids.take(Event.__table__, sum(len(r.events) for _, _, r in items)))
        figure_ids = iter(ids.take(Figure.__table__, sum(len(r.figures) for _, _, r in items)))
        for article_id, published, result in items:
            self._add(article_id, published, result, sentence_ids, event_ids, figure_ids)

    def _add(self, article_id, published, result, sentence_id_source, event_id_source, figure_id_source) -> None:  # noqa: ANN001
        sentence_ids = [next(sentence_id_source) for _ in result.sentences]
        id_of = {s.index: sid for s, sid in zip(result.sentences, sentence_ids, strict=True)}
        for sentence, sentence_id in zip(result.sentences, sentence_ids, strict=True):
            self.sentences.append(
                {
                    "id": sentence_id,
                    "article_id": article_id,
                    "position": sentence.index,
                    "section": sentence.section,
                    "paragraph": sentence.paragraph,
                    "text": sentence.text,
                    "forward_looking": sentence.forward_looking,
                }
            )
            self.sentence_entities.extend(
                {"sentence_id": sentence_id, "entity_key": key, "article_id": article_id}
                for key in sentence.entities
            )
        relevant = [e for e in result.entities if getattr(e, "relevant", True)]
        self.mentions.extend(
            {
                "article_id": article_id,
                "entity_key": e.key,
                "mentions": e.mentions,
                "salience": e.salience,
                "is_primary": e.primary,
                "published": published,
            }
            for e in relevant
        )
        for event in result.events:
            event_id = next(event_id_source)
            self.events.append(
                {
                    "id": event_id,
                    "article_id": article_id,
                    "sentence_id": id_of[event.sentence_index],
                    "event_date": event.date,
                    "precision": event.precision,
                    "year_inferred": event.year_inferred,
                    "phrase": event.phrase[:200],
                }
            )
            self.event_entities.extend(
                {"event_id": event_id, "entity_key": key, "event_date": event.date} for key in event.entities
            )
        for figure in result.figures:
            figure_id = next(figure_id_source)
            self.figures.append(
                {
                    "id": figure_id,
                    "article_id": article_id,
                    "sentence_id": id_of[figure.sentence_index],
                    "phrase": figure.phrase[:200],
                    "kind": figure.kind,
                    "value": figure.value,
                    "unit": figure.unit,
                }
            )
            self.figure_entities.extend(
                {"figure_id": figure_id, "entity_key": key, "published": published} for key in figure.entities
            )
        for pair, (sentences, articles) in pair_counts(s.entities for s in result.sentences).items():
            before = self.pairs.get(pair, (0, 0))
            self.pairs[pair] = (before[0] + sentences, before[1] + articles)
        self.touched |= {e.key for e in relevant} | {k for s in result.sentences for k in s.entities}

    def flush(self, session: Session) -> set[str]:
        write = _copy_rows if session.get_bind().dialect.name == "postgresql" else _insert_rows
        for table, rows in (
            (Article.__table__, self.articles),
            (Sentence.__table__, self.sentences),
            (SentenceEntity.__table__, self.sentence_entities),
            (Mention.__table__, self.mentions),
            (Event.__table__, self.events),
            (EventEntity.__table__, self.event_entities),
            (Figure.__table__, self.figures),
            (FigureEntity.__table__, self.figure_entities),
        ):
            if rows:
                write(session, table, rows)
        apply_relation_delta(session, self.pairs, +1)
        return self.touched


def _insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(table), rows)


def _copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: one stream per table instead of a statement per row."""
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    cursor = session.connection().connection.driver_connection.cursor()
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c in json_columns else row[c] for c in columns])


def _merge(existing: Article, record: ArticleRecord) -> ArticleRecord:
    """What the publisher gave wins over what was inferred; a known URL is never lost."""
    title, title_inferred = record.title, record.title_inferred
    if record.title_inferred and not existing.title_inferred:
        title, title_inferred = existing.title, False
    published, date_inferred = record.published, record.date_inferred
    if (record.date_inferred or record.published is None) and existing.published and not existing.date_inferred:
        published, date_inferred = existing.published, False
    return dataclasses.replace(
        record,
        title=title,
        title_inferred=title_inferred,
        published=published,
        date_inferred=date_inferred,
        author=record.author or existing.author,
        author_bio=record.author_bio or existing.author_bio,
        category=record.category or existing.category,
        url=record.url or existing.url,
    )


def date_precision(record: ArticleRecord) -> str:
    """A publisher's date is a day; an inferred one is as fine as the text that gave it."""
    if not record.date_inferred or record.published is None:
        return "day"
    inferred = infer_as_of(record.sections)
    return inferred[1] if inferred and inferred[0] == record.published else "day"


def _article_values(record: ArticleRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "title_inferred": record.title_inferred,
        "author": record.author,
        "published": record.published,
        "date_inferred": record.date_inferred,
        "date_precision": date_precision(record),
        "lede": record.lede,
        "sections": [{"name": s.name, "text": s.text} for s in record.sections],
        "body": record.body_text,
        "author_bio": record.author_bio,
        "category": record.category,
        "url": record.url,
        "summary_only": record.summary_only,
        "content_hash": record.content_hash,
        "fingerprint": record.fingerprint,
        "title_key": record.title_key,
    }


class Identities:
    """Finds the stored (or just stored) article a record is a version of.

    Same URL first, then the same titled piece by the same author, then the same lede:
    a capture that lost its title still meets the page that has it.
    """

    def __init__(self) -> None:
        self.by_url: dict[str, Article] = {}
        self.by_title: dict[str, Article] = {}
        self.by_fingerprint: dict[str, Article] = {}

    def remember(self, article: Article) -> None:
        if article.url:
            self.by_url.setdefault(article.url, article)
        if article.title_key:
            self.by_title.setdefault(article.title_key, article)
        self.by_fingerprint.setdefault(article.fingerprint, article)

    def load(self, session: Session, records: Sequence[ArticleRecord]) -> None:
        urls = {r.url for r in records if r.url} - set(self.by_url)
        titles = {r.title_key for r in records if r.title_key} - set(self.by_title)
        prints = {r.fingerprint for r in records} - set(self.by_fingerprint)
        conditions = []
        if urls:
            conditions.append(Article.url.in_(urls))
        if titles:
            conditions.append(Article.title_key.in_(titles))
        if prints:
            conditions.append(Article.fingerprint.in_(prints))
        if conditions:
            for article in session.execute(select(Article).where(or_(*conditions)).order_by(Article.id)).scalars():
                self.remember(article)

    def find(self, record: ArticleRecord) -> Article | None:
        return (
            (self.by_url.get(record.url) if record.url else None)
            or (self.by_title.get(record.title_key) if record.title_key else None)
            or self.by_fingerprint.get(record.fingerprint)
        )


def store_records(
    session: Session,
    records: Iterable[ArticleRecord],
    knowledge: Knowledge,
    *,
    source_id: int | None = None,
) -> StoreCounts:
    counts = StoreCounts()
    touched: set[str] = set()
    sync_entities(session, knowledge)
    ids = IdAllocator(session)
    identities = Identities()
    records = list(records)
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        identities.load(session, chunk)
        batch = RowBatch()
        items: list[tuple[int, Any, Enrichment]] = []
        for record in chunk:
            existing = identities.find(record)
            if existing is None:
                (article_id,) = ids.take(Article.__table__, 1)
                values = {"id": article_id, "source_id": source_id, **_article_values(record)}
                now = utcnow()
                batch.articles.append({**values, "ingested_at": now, "updated_at": now})
                identities.remember(Article(**values))
                counts.new += 1
                published = record.published
            else:
                merged = _merge(existing, record)
                if merged.content_hash == existing.content_hash:
                    counts.unchanged += 1
                    counts.article_ids.append(existing.id)
                    continue
                if existing.id in {a["id"] for a in batch.articles}:
                    # A new version of an article this very batch inserts: write it first.
                    batch.add_all(ids, items)
                    touched |= batch.flush(session)
                    batch, items = RowBatch(), []
                touched |= clear_enrichment(session, existing.id)
                values = _article_values(merged)
                session.execute(
                    update(Article)
                    .where(Article.id == existing.id)
                    .values(**values, updated_at=utcnow(), source_id=existing.source_id or source_id)
                )
                for key, value in values.items():
                    setattr(existing, key, value)
                article_id, published = existing.id, merged.published
                counts.updated += 1
                record = merged
            counts.article_ids.append(article_id)
            result = enrich(
                record.title if not record.title_inferred else None, record.sections, published, knowledge
            )
            items.append((article_id, published, result))
        batch.add_all(ids, items)
        touched |= batch.flush(session)
    session.expire_all()
    refresh_entity_stats(session, touched)
    return counts


def sections_of(article: Article) -> list[Section]:
    return [Section(s["name"], s["text"]) for s in article.sections]


def clear_enrichment(session: Session, article_id: int) -> set[str]:
    """Remove one article's enrichment rows, undoing its share of the relations."""
    rows = session.execute(
        select(SentenceEntity.sentence_id, SentenceEntity.entity_key).where(SentenceEntity.article_id == article_id)
    ).all()
    by_sentence: dict[int, list[str]] = defaultdict(list)
    for sentence_id, key in rows:
        by_sentence[sentence_id].append(key)
    apply_relation_delta(session, pair_counts(by_sentence.values()), -1)
    mentioned = set(session.execute(select(Mention.entity_key).where(Mention.article_id == article_id)).scalars())
    event_ids = select(Event.id).where(Event.article_id == article_id)
    figure_ids = select(Figure.id).where(Figure.article_id == article_id)
    session.execute(delete(EventEntity).where(EventEntity.event_id.in_(event_ids)))
    session.execute(delete(FigureEntity).where(FigureEntity.figure_id.in_(figure_ids)))
    session.execute(delete(Event).where(Event.article_id == article_id))
    session.execute(delete(Figure).where(Figure.article_id == article_id))
    session.execute(delete(SentenceEntity).where(SentenceEntity.article_id == article_id))
    session.execute(delete(Sentence).where(Sentence.article_id == article_id))
    session.execute(delete(Mention).where(Mention.article_id == article_id))
    return mentioned | {key for keys in by_sentence.values() for key in keys}


def reenrich_all(session: Session, knowledge: Knowledge, *, batch_size: int = 200) -> int:
    """Enrich every stored article again (after the taxonomy or aliases changed)."""
    sync_entities(session, knowledge)
    ids = IdAllocator(session)
    touched: set[str] = set()
    article_ids = list(session.execute(select(Article.id).order_by(Article.id)).scalars())
    for start in range(0, len(article_ids), batch_size):
        chunk = article_ids[start : start + batch_size]
        for article_id in chunk:
            touched |= clear_enrichment(session, article_id)
        batch = RowBatch()
        items = [
            (
                article.id,
                article.published,
                enrich(
                    article.title if not article.title_inferred else None,
                    sections_of(article),
                    article.published,
                    knowledge,
                ),
            )
            for article in session.execute(select(Article).where(Article.id.in_(chunk)).order_by(Article.id)).scalars()
        ]
        batch.add_all(ids, items)
        touched |= batch.flush(session)
        session.expunge_all()
    # Entities no article mentions any more keep no stale coverage.
    stale = set(session.execute(select(EntityStats.entity_key)).scalars()) - touched
    refresh_entity_stats(session, touched | stale)
    return len(article_ids)
