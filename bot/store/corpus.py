"""Read-side queries over the corpus for operators and tests (articles, events, figures).

Briefing composition has its own bounded queries in `bot.briefing`; these list
everything and are meant for the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from bot.store.models import (
    Article,
    Event,
    EventEntity,
    Figure,
    FigureEntity,
    Mention,
    Sentence,
    Source,
)


@dataclass(frozen=True)
class EventRow:
    event_id: int
    article_id: int
    date: dt.date
    precision: str
    year_inferred: bool
    phrase: str
    sentence: str
    entities: tuple[str, ...]


@dataclass(frozen=True)
class FigureRow:
    figure_id: int
    article_id: int
    phrase: str
    kind: str
    value: float | None
    unit: str | None
    sentence: str
    entities: tuple[str, ...]
    published: dt.date | None


def all_articles(session: Session) -> list[Article]:
    return list(session.execute(select(Article).order_by(Article.published.desc(), Article.id)).scalars())


def mentions_by_article(session: Session, article_ids: list[int]) -> dict[int, list[Mention]]:
    result: dict[int, list[Mention]] = defaultdict(list)
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        rows = session.execute(
            select(Mention)
            .where(Mention.article_id.in_(chunk))
            .order_by(Mention.article_id, Mention.salience.desc(), Mention.entity_key)
        ).scalars()
        for mention in rows:
            result[mention.article_id].append(mention)
    return result


def source_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Source.id, Source.name)).all())


def _entities_of(session: Session, link, id_column, ids: list[int]) -> dict[int, tuple[str, ...]]:  # noqa: ANN001
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for item_id, key in session.execute(
            select(id_column, link.entity_key).where(id_column.in_(ids[start : start + 500]))
        ):
            found[item_id].append(key)
    return {item_id: tuple(sorted(keys)) for item_id, keys in found.items()}


def events(session: Session, entity_key: str | None = None, limit: int | None = None) -> list[EventRow]:
    query = select(Event, Sentence.text).join(Sentence, Sentence.id == Event.sentence_id)
    if entity_key:
        query = query.join(EventEntity, EventEntity.event_id == Event.id).where(EventEntity.entity_key == entity_key)
    query = query.order_by(Event.event_date.desc(), Event.id.desc())
    if limit:
        query = query.limit(limit)
    rows = session.execute(query).all()
    entities = _entities_of(session, EventEntity, EventEntity.event_id, [e.id for e, _ in rows])
    return [
        EventRow(e.id, e.article_id, e.event_date, e.precision, e.year_inferred, e.phrase, text, entities.get(e.id, ()))
        for e, text in rows
    ]


def figures(session: Session, entity_key: str | None = None, limit: int | None = None) -> list[FigureRow]:
    query = (
        select(Figure, Sentence.text, Article.published)
        .join(Sentence, Sentence.id == Figure.sentence_id)
        .join(Article, Article.id == Figure.article_id)
    )
    if entity_key:
        query = query.join(FigureEntity, FigureEntity.figure_id == Figure.id).where(FigureEntity.entity_key == entity_key)
    query = query.order_by(Article.published.desc(), Figure.id)
    if limit:
        query = query.limit(limit)
    rows = session.execute(query).all()
    entities = _entities_of(session, FigureEntity, FigureEntity.figure_id, [f.id for f, _, _ in rows])
    return [
        FigureRow(f.id, f.article_id, f.phrase, f.kind, f.value, f.unit, text, entities.get(f.id, ()), published)
        for f, text, published in rows
    ]
