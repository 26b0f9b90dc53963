"""Storing records: dedupe, insert or update in place, enrich, keep derived tables current.

The one path every carrier (capture file, JSON Lines, feed, page) takes into the store,
inside the caller's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.enrich import Knowledge, enrich
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


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    article_ids: list[int] = dataclasses.field(default_factory=list)

    def add(self, other: StoreCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.article_ids.extend(other.article_ids)


def sync_entities(session: Session, knowledge: Knowledge) -> None:
    """Every entity the knowledge base knows, with its current name and emoji."""
    rows = [
        {"key": e.key, "kind": e.kind, "name": e.name, "emoji": e.emoji} for e in knowledge.entities()
    ]
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Entity.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"kind": stmt.excluded.kind, "name": stmt.excluded.name, "emoji": stmt.excluded.emoji},
    )
    session.execute(stmt, rows)


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


def _find_existing(session: Session, record: ArticleRecord) -> Article | None:
    if record.url:
        found = session.execute(select(Article).where(Article.url == record.url)).scalars().first()
        if found:
            return found
    return session.execute(select(Article).where(Article.fingerprint == record.fingerprint)).scalars().first()


def _article_values(record: ArticleRecord) -> dict:
    return {
        "title": record.title,
        "title_inferred": record.title_inferred,
        "author": record.author,
        "published": record.published,
        "date_inferred": record.date_inferred,
        "lede": record.lede,
        "sections": [{"name": s.name, "text": s.text} for s in record.sections],
        "body": record.body_text,
        "author_bio": record.author_bio,
        "category": record.category,
        "url": record.url,
        "summary_only": record.summary_only,
        "content_hash": record.content_hash,
        "fingerprint": record.fingerprint,
    }


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
    for record in records:
        existing = _find_existing(session, record)
        if existing is None:
            article = Article(source_id=source_id, **_article_values(record))
            session.add(article)
            session.flush()
            counts.new += 1
        else:
            merged = _merge(existing, record)
            if merged.content_hash == existing.content_hash:
                counts.unchanged += 1
                counts.article_ids.append(existing.id)
                continue
            touched |= clear_enrichment(session, existing.id)
            for key, value in _article_values(merged).items():
                setattr(existing, key, value)
            existing.updated_at = utcnow()
            if source_id is not None and existing.source_id is None:
                existing.source_id = source_id
            session.add(existing)
            session.flush()
            article = existing
            counts.updated += 1
        counts.article_ids.append(article.id)
        touched |= write_enrichment(session, article, knowledge)
    refresh_entity_stats(session, touched)
    return counts


def sections_of(article: Article) -> list[Section]:
    return [Section(s["name"], s["text"]) for s in article.sections]


def write_enrichment(session: Session, article: Article, knowledge: Knowledge) -> set[str]:
    """Enrich one stored article and write its rows; returns the entity keys it touched."""
    result: Enrichment = enrich(article.title if not article.title_inferred else None,
                                sections_of(article), article.published, knowledge)
    if not result.sentences:
        return set()
    sentence_ids: Sequence[int] = session.execute(
        insert(Sentence).returning(Sentence.id, sort_by_parameter_order=True),
        [
            {
                "article_id": article.id,
                "position": s.index,
                "section": s.section,
                "paragraph": s.paragraph,
                "text": s.text,
                "forward_looking": s.forward_looking,
            }
            for s in result.sentences
        ],
    ).scalars().all()
    id_of = {s.index: sid for s, sid in zip(result.sentences, sentence_ids, strict=True)}

    sentence_entities = [
        {"sentence_id": id_of[s.index], "entity_key": key, "article_id": article.id}
        for s in result.sentences
        for key in s.entities
    ]
    if sentence_entities:
        session.execute(insert(SentenceEntity), sentence_entities)
    if result.entities:
        session.execute(
            insert(Mention),
            [
                {
                    "article_id": article.id,
                    "entity_key": e.key,
                    "mentions": e.mentions,
                    "salience": e.salience,
                    "is_primary": e.primary,
                    "published": article.published,
                }
                for e in result.entities
            ],
        )
    if result.events:
        event_ids = session.execute(
            insert(Event).returning(Event.id, sort_by_parameter_order=True),
            [
                {
                    "article_id": article.id,
                    "sentence_id": id_of[e.sentence_index],
                    "event_date": e.date,
                    "precision": e.precision,
                    "year_inferred": e.year_inferred,
                    "phrase": e.phrase[:200],
                }
                for e in result.events
            ],
        ).scalars().all()
        rows = [
            {"event_id": eid, "entity_key": key, "event_date": e.date}
            for e, eid in zip(result.events, event_ids, strict=True)
            for key in e.entities
        ]
        if rows:
            session.execute(insert(EventEntity), rows)
    if result.figures:
        figure_ids = session.execute(
            insert(Figure).returning(Figure.id, sort_by_parameter_order=True),
            [
                {
                    "article_id": article.id,
                    "sentence_id": id_of[f.sentence_index],
                    "phrase": f.phrase[:200],
                    "kind": f.kind,
                    "value": f.value,
                    "unit": f.unit,
                }
                for f in result.figures
            ],
        ).scalars().all()
        rows = [
            {"figure_id": fid, "entity_key": key, "published": article.published}
            for f, fid in zip(result.figures, figure_ids, strict=True)
            for key in f.entities
        ]
        if rows:
            session.execute(insert(FigureEntity), rows)

    apply_relation_delta(session, pair_counts(s.entities for s in result.sentences), +1)
    return {e.key for e in result.entities} | {k for s in result.sentences for k in s.entities}


def clear_enrichment(session: Session, article_id: int) -> set[str]:
    """Remove one article's enrichment rows, undoing its share of the relations."""
    rows = session.execute(
        select(SentenceEntity.sentence_id, SentenceEntity.entity_key).where(
            SentenceEntity.article_id == article_id
        )
    ).all()
    by_sentence: dict[int, list[str]] = {}
    for sentence_id, key in rows:
        by_sentence.setdefault(sentence_id, []).append(key)
    apply_relation_delta(session, pair_counts(by_sentence.values()), -1)
    mentioned = set(
        session.execute(select(Mention.entity_key).where(Mention.article_id == article_id)).scalars()
    )
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


def reenrich_all(session: Session, knowledge: Knowledge, *, batch: int = 500) -> int:
    """Enrich every stored article again (after the taxonomy or aliases changed)."""
    sync_entities(session, knowledge)
    touched: set[str] = set()
    ids = list(session.execute(select(Article.id).order_by(Article.id)).scalars())
    for start in range(0, len(ids), batch):
        for article_id in ids[start : start + batch]:
            article = session.get(Article, article_id)
            touched |= clear_enrichment(session, article_id)
            touched |= write_enrichment(session, article, knowledge)
        session.flush()
        session.expunge_all()
    # Entities no article mentions any more keep no stale coverage.
    stale = set(session.execute(select(EntityStats.entity_key)).scalars()) - touched
    refresh_entity_stats(session, touched | stale)
    return len(ids)
