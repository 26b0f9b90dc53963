"""Tables derived from enrichment rows: per-entity coverage and entity relations.

Kept current inside the ingest transaction so that answering never aggregates the corpus:
`entity_stats` is recomputed for the entities an ingest touched (an index range each);
`entity_relation` is maintained by adding an article's co-mention pairs when it is
enriched and subtracting them when its enrichment is replaced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.store.models import EntityRelation, EntityStats, EventEntity, Mention, utcnow

PairCounts = Mapping[tuple[str, str], tuple[int, int]]  # (entity, other) -> (sentences, articles)


def pair_counts(sentence_entity_sets: Iterable[Iterable[str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """One article's directed co-mention pairs: sentences together, and 1 article."""
    sentences: Counter[tuple[str, str]] = Counter()
    for keys in sentence_entity_sets:
        unique = sorted(set(keys))
        for a in unique:
            for b in unique:
                if a != b:
                    sentences[(a, b)] += 1
    return {pair: (count, 1) for pair, count in sentences.items()}


def apply_relation_delta(session: Session, counts: PairCounts, sign: int) -> None:
    if not counts:
        return
    rows = [
        {
            "entity_key": a,
            "other_key": b,
            "sentence_count": sign * sentences,
            "article_count": sign * articles,
        }
        for (a, b), (sentences, articles) in counts.items()
    ]
    dialect = session.get_bind().dialect.name
    table = EntityRelation.__table__
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported dialects
        raise NotImplementedError(dialect)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity_key", "other_key"],
        set_={
            "sentence_count": table.c.sentence_count + stmt.excluded.sentence_count,
            "article_count": table.c.article_count + stmt.excluded.article_count,
        },
    )
    session.execute(stmt, rows)
    if sign < 0:
        session.execute(delete(EntityRelation).where(EntityRelation.article_count <= 0))


def refresh_entity_stats(session: Session, keys: Iterable[str]) -> None:
    keys = sorted(set(keys))
    if not keys:
        return
    now = utcnow()
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start : chunk_start + 500]
        session.execute(delete(EntityStats).where(EntityStats.entity_key.in_(chunk)))
        coverage = session.execute(
            select(
                Mention.entity_key,
                func.count(),
                func.sum(case((Mention.is_primary, 1), else_=0)),
                func.min(Mention.published),
                func.max(Mention.published),
            )
            .where(Mention.entity_key.in_(chunk))
            .group_by(Mention.entity_key)
        ).all()
        events = dict(
            session.execute(
                select(EventEntity.entity_key, func.count())
                .where(EventEntity.entity_key.in_(chunk))
                .group_by(EventEntity.entity_key)
            ).all()
        )
        rows = [
            {
                "entity_key": key,
                "article_count": count,
                "primary_count": int(primaries or 0),
                "event_count": events.get(key, 0),
                "first_published": first,
                "last_published": last,
                "updated_at": now,
            }
            for key, count, primaries, first, last in coverage
        ]
        if rows:
            session.execute(insert(EntityStats), rows)

