"""Composing views from the store: bounded, indexed queries only.

Every query here is limited by an index range and a LIMIT, so a briefing costs the same
on a corpus of a hundred articles or of a hundred thousand: the coverage counts come
from `entity_stats`, relations from `entity_relation`, dated events and figures from
their per-entity indexes, and the quoted sentences from the few most relevant articles.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import func, or_, select
from sqlmodel import Session

from bot.briefing.views import (
    ArticleList,
    ArticleSection,
    ArticleSummary,
    ArticleView,
    Briefing,
    CoverageList,
    CoverageRow,
    DatedLine,
    FigureLine,
    Quote,
    Relation,
    SourceRef,
    Timeline,
    TopicCount,
)
from bot.enrich import Knowledge
from bot.enrich.model import BACKGROUND, CONCLUSIONS, IMPLICATIONS, LEDE, TEXT, EntityInfo
from bot.ingest.text import trim_words
from bot.store.models import (
    Article,
    EntityRelation,
    EntityStats,
    Event,
    EventEntity,
    Figure,
    FigureEntity,
    Mention,
    Sentence,
    SentenceEntity,
)
from bot.store.search import search_articles

QUOTE_CHARS = 320
SITUATION_MIN = 2


@dataclass(frozen=True)
class BriefingLimits:
    top_articles: int = 8
    situation: int = 4
    developments: int = 8
    outlook: int = 3
    upcoming: int = 3
    relations: int = 5
    figures: int = 5
    topics: int = 6
    event_candidates: int = 60
    figure_candidates: int = 30


class Citations:
    """Numbers sources in the order a view first cites them."""

    def __init__(self) -> None:
        self._numbers: dict[int, int] = {}
        self.quoted: set[str] = set()  # sentences already in the view, not to repeat

    def cite(self, article_id: int) -> int:
        return self._numbers.setdefault(article_id, len(self._numbers) + 1)

    def quote(self, article_id: int, text: str, limit: int = QUOTE_CHARS) -> Quote:
        self.quoted.add(text)
        return Quote(trim_words(text, limit), self.cite(article_id))

    def refs(self, session: Session) -> list[SourceRef]:
        if not self._numbers:
            return []
        articles = {
            a.id: a
            for a in session.execute(select(Article).where(Article.id.in_(list(self._numbers)))).scalars()
        }
        return [source_ref(articles[aid], number) for aid, number in self._numbers.items() if aid in articles]


def source_ref(article: Article, number: int) -> SourceRef:
    return SourceRef(
        number=number,
        article_id=article.id,
        title=article.title,
        title_inferred=article.title_inferred,
        author=article.author,
        published=article.published,
        date_inferred=article.date_inferred,
        url=article.url,
        date_precision=article.date_precision,
    )


_WORDS = re.compile(r"\w+")


def _similar(a: str, b: str, threshold: float = 0.6) -> bool:
    wa, wb = set(_WORDS.findall(a.lower())), set(_WORDS.findall(b.lower()))
    if not wa or not wb:
        return a == b
    return len(wa & wb) / len(wa | wb) >= threshold


def _distinct(texts: Iterable[str], candidate: str) -> bool:
    return all(not _similar(candidate, t) for t in texts)


def entity_stats(session: Session, key: str) -> EntityStats | None:
    return session.get(EntityStats, key)


def newest_first(session: Session, query, date_column, limit: int, *tiebreak) -> list:  # noqa: ANN001
    """Dated rows newest first, then undated ones: written so that both databases walk an
    index backwards (PostgreSQL's DESC puts NULLs first, and NULLS LAST defeats the index)."""
    rows = list(
        session.execute(
            query.where(date_column.is_not(None)).order_by(date_column.desc(), *tiebreak).limit(limit)
        ).scalars()
    )
    if len(rows) < limit:
        rows += session.execute(
            query.where(date_column.is_(None)).order_by(*tiebreak).limit(limit - len(rows))
        ).scalars()
    return rows


def top_article_ids(session: Session, key: str, limit: int) -> list[int]:
    """The most relevant articles: those mainly about the entity, newest first, then others."""
    ranked: list[int] = []
    for primary in (True, False):
        if len(ranked) < limit:
            query = select(Mention.article_id).where(Mention.entity_key == key, Mention.is_primary.is_(primary))
            ranked += newest_first(session, query, Mention.published, limit - len(ranked), Mention.article_id.desc())
    return ranked


def _sentences_in(session: Session, key: str, article_ids: list[int], sections: Iterable[str]) -> list[Sentence]:
    if not article_ids:
        return []
    return list(
        session.execute(
            select(Sentence)
            .join(SentenceEntity, SentenceEntity.sentence_id == Sentence.id)
            .where(
                SentenceEntity.entity_key == key,
                SentenceEntity.article_id.in_(article_ids),
                Sentence.section.in_(list(sections)),
            )
            .order_by(Sentence.article_id, Sentence.position)
        ).scalars()
    )


def _pick_situation(sentences: list[Sentence], ranked_ids: list[int], limit: int, cite: Citations) -> list[Quote]:
    by_article: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        if not sentence.forward_looking:
            by_article.setdefault(sentence.article_id, []).append(sentence)
    chosen: list[Sentence] = []
    # One lede sentence per article, most relevant article first; then conclusions; then
    # more of either; the body only when ledes and conclusions give fewer than two.
    for rounds in ((LEDE, TEXT), (CONCLUSIONS,), (LEDE, TEXT, CONCLUSIONS), (BACKGROUND, IMPLICATIONS)):
        enough = SITUATION_MIN if rounds[0] == BACKGROUND else limit
        for article_id in ranked_ids:
            if len(chosen) >= enough:
                break
            for sentence in by_article.get(article_id, []):
                if sentence.section in rounds and sentence not in chosen and _distinct(
                    (c.text for c in chosen), sentence.text
                ):
                    chosen.append(sentence)
                    break
    return [cite.quote(s.article_id, s.text) for s in chosen[:limit]]


def _event_rows(session: Session, key: str, limit: int, *, offset: int = 0, facts_only: bool):
    query = (
        select(Event, Sentence.text, Article.published)
        .join(EventEntity, EventEntity.event_id == Event.id)
        .join(Sentence, Sentence.id == Event.sentence_id)
        .join(Article, Article.id == Event.article_id)
        .where(EventEntity.entity_key == key)
    )
    if facts_only:
        # What an article reports as done, not what it says is planned.
        query = query.where(or_(Article.published.is_(None), Event.event_date <= Article.published))
    query = query.order_by(EventEntity.event_date.desc(), EventEntity.event_id.desc()).offset(offset).limit(limit)
    return session.execute(query).all()


def _dated_lines(rows, cite: Citations, limit: int | None) -> list[DatedLine]:  # noqa: ANN001
    lines: list[DatedLine] = []
    seen_sentences: set[int] = set()
    for event, text, _published in rows:
        if event.sentence_id in seen_sentences:
            continue
        if any(_same_development(line, event, text) for line in lines):
            continue
        seen_sentences.add(event.sentence_id)
        lines.append(
            DatedLine(event.event_date, event.precision, event.year_inferred, cite.quote(event.article_id, text, 260))
        )
        if limit is not None and len(lines) >= limit:
            break
    return lines


def _same_development(line: DatedLine, event: Event, text: str) -> bool:
    """Two articles reporting one event: the same day, or the same month in like words."""
    if line.date != event.event_date or line.precision != event.precision:
        return False
    return event.precision == "day" or _similar(line.quote.text, text, 0.4)


def _upcoming(session: Session, key: str, today: dt.date, limit: int, cite: Citations) -> list[DatedLine]:
    rows = session.execute(
        select(Event, Sentence.text, Article.published)
        .join(EventEntity, EventEntity.event_id == Event.id)
        .join(Sentence, Sentence.id == Event.sentence_id)
        .join(Article, Article.id == Event.article_id)
        .where(EventEntity.entity_key == key, EventEntity.event_date >= today, Event.event_date > Article.published)
        .order_by(EventEntity.event_date, EventEntity.event_id)
        .limit(limit * 3)
    ).all()
    return _dated_lines(rows, cite, limit)


def _outlook(sentences: list[Sentence], ranked_ids: list[int], limit: int, cite: Citations) -> list[Quote]:
    rank = {aid: i for i, aid in enumerate(ranked_ids)}
    forward = sorted(
        (s for s in sentences if s.forward_looking),
        key=lambda s: (rank.get(s.article_id, 99), s.section != CONCLUSIONS, s.position),
    )
    chosen: list[Sentence] = []
    per_article: dict[int, int] = {}
    for sentence in forward:
        if len(chosen) >= limit:
            break
        if per_article.get(sentence.article_id, 0) >= 2 or not _distinct((c.text for c in chosen), sentence.text):
            continue
        chosen.append(sentence)
        per_article[sentence.article_id] = per_article.get(sentence.article_id, 0) + 1
    return [cite.quote(s.article_id, s.text) for s in chosen]


_A = SentenceEntity.__table__.alias("a")
_B = SentenceEntity.__table__.alias("b")


def _relations(
    session: Session,
    knowledge: Knowledge,
    key: str,
    prefixes: tuple[str, ...],
    limit: int,
    preferred_articles: list[int],
    cite: Citations,
) -> list[Relation]:
    rows = session.execute(
        select(EntityRelation.other_key, EntityRelation.article_count, EntityRelation.sentence_count)
        .where(
            EntityRelation.entity_key == key,
            or_(*(EntityRelation.other_key.startswith(p) for p in prefixes)),
        )
        .order_by(EntityRelation.article_count.desc(), EntityRelation.sentence_count.desc(), EntityRelation.other_key)
        .limit(limit)
    ).all()
    rows = [(other, articles, sentences) for other, articles, sentences in rows if knowledge.entity(other)]
    evidence = _evidence(session, key, [other for other, _, _ in rows], preferred_articles, cite.quoted)
    relations = []
    for other_key, articles, sentences in rows:
        sentence = evidence.get(other_key)
        quote = cite.quote(sentence.article_id, sentence.text, 240) if sentence else None
        relations.append(Relation(knowledge.entity(other_key), articles, sentences, quote))
    return relations


def _evidence(
    session: Session, key: str, others: list[str], preferred_articles: list[int], quoted: set[str]
) -> dict[str, Sentence]:
    """For each other entity, the sentence that best shows it with `key`: from the most
    relevant article that has one, the earliest such sentence, not one the view already
    quotes. One query for all of them; a second, per entity, only where none was found."""
    if not others:
        return {}
    rank = {article_id: position for position, article_id in enumerate(preferred_articles)}
    pairs: list = []
    if preferred_articles:
        # Two small lookups rather than a self-join, so that no planner can pick a plan that
        # reads every sentence of the other entities: the key's sentences in the top
        # articles, then which of them also name the others (the primary key answers).
        own = dict(
            session.execute(
                select(SentenceEntity.sentence_id, SentenceEntity.article_id).where(
                    SentenceEntity.entity_key == key, SentenceEntity.article_id.in_(preferred_articles)
                )
            ).all()
        )
        if own:
            pairs = [
                (other, sentence_id, own[sentence_id])
                for sentence_id, other in session.execute(
                    select(SentenceEntity.sentence_id, SentenceEntity.entity_key).where(
                        SentenceEntity.sentence_id.in_(list(own)), SentenceEntity.entity_key.in_(others)
                    )
                ).all()
            ]
    missing = set(others) - {other for other, _, _ in pairs}
    for other in missing:
        pairs += session.execute(
            select(_B.c.entity_key, _A.c.sentence_id, _A.c.article_id)
            .join(_B, (_B.c.sentence_id == _A.c.sentence_id) & (_B.c.entity_key == other))
            .where(_A.c.entity_key == key)
            .order_by(_A.c.article_id.desc(), _A.c.sentence_id)
            .limit(3)
        ).all()
    if not pairs:
        return {}
    sentences = {
        s.id: s for s in session.execute(select(Sentence).where(Sentence.id.in_({p[1] for p in pairs}))).scalars()
    }
    ranked: dict[str, list[Sentence]] = {}
    for other, sentence_id, _article in sorted(pairs, key=lambda p: (rank.get(p[2], len(rank)), p[1])):
        if sentence_id in sentences:
            ranked.setdefault(other, []).append(sentences[sentence_id])
    # Each relation gets its own sentence where it can: one line naming three countries
    # is evidence for all three, but reads as a repetition under each.
    chosen: dict[str, Sentence] = {}
    used = set(quoted)
    for other in others:
        candidates = ranked.get(other, [])
        fresh = [s for s in candidates if s.text not in used]
        if candidates:
            chosen[other] = (fresh or candidates)[0]
            used.add(chosen[other].text)
    return chosen


def _figures(session: Session, key: str, limits: BriefingLimits, cite: Citations) -> list[FigureLine]:
    figure_ids = newest_first(
        session,
        select(FigureEntity.figure_id).where(FigureEntity.entity_key == key),
        FigureEntity.published,
        limits.figure_candidates,
        FigureEntity.figure_id,
    )
    found = {
        figure.id: (figure, text)
        for figure, text in session.execute(
            select(Figure, Sentence.text)
            .join(Sentence, Sentence.id == Figure.sentence_id)
            .where(Figure.id.in_(figure_ids))
        ).all()
    } if figure_ids else {}
    rows = [found[i] for i in figure_ids if i in found]
    lines: list[FigureLine] = []
    used_sentences: set[int] = set()
    for figure, text in rows:
        if figure.sentence_id in used_sentences or any(line.phrase == figure.phrase for line in lines):
            continue
        used_sentences.add(figure.sentence_id)
        lines.append(FigureLine(figure.phrase, cite.quote(figure.article_id, text)))
        if len(lines) >= limits.figures:
            break
    return lines


def compose_briefing(
    session: Session,
    knowledge: Knowledge,
    key: str,
    today: dt.date,
    limits: BriefingLimits = BriefingLimits(),
) -> Briefing | None:
    """The briefing on one country, organisation or topic; None when nothing covers it."""
    info = knowledge.entity(key)
    stats = entity_stats(session, key)
    if info is None or stats is None or stats.article_count == 0:
        return None
    cite = Citations()
    ranked = top_article_ids(session, key, limits.top_articles)
    top_sentences = _sentences_in(session, key, ranked, (LEDE, TEXT, BACKGROUND, IMPLICATIONS, CONCLUSIONS))
    briefing = Briefing(
        entity=info,
        article_count=stats.article_count,
        first_published=stats.first_published,
        last_published=stats.last_published,
        as_of=today,
        event_count=stats.event_count,
    )
    # Dated developments are chosen first so the situation does not repeat them.
    briefing.developments = _dated_lines(
        _event_rows(session, key, limits.event_candidates, facts_only=True), cite, limits.developments
    )
    briefing.situation = _pick_situation(
        [s for s in top_sentences if s.text not in cite.quoted],
        ranked,
        limits.situation,
        cite,
    )
    briefing.outlook = _outlook(
        [s for s in top_sentences if s.section in (CONCLUSIONS, IMPLICATIONS)], ranked, limits.outlook, cite
    )
    briefing.upcoming = _upcoming(session, key, today, limits.upcoming, cite)
    prefixes = ("c:",) if info.kind == "topic" else ("c:", "o:")
    briefing.relations = _relations(session, knowledge, key, prefixes, limits.relations, ranked, cite)
    briefing.figures = _figures(session, key, limits, cite)
    topic_rows = session.execute(
        select(EntityRelation.other_key, EntityRelation.article_count)
        .where(EntityRelation.entity_key == key, EntityRelation.other_key.startswith("t:"))
        .order_by(EntityRelation.article_count.desc(), EntityRelation.other_key)
        .limit(limits.topics)
    ).all()
    briefing.related_topics = [
        TopicCount(topic, count) for other, count in topic_rows if (topic := knowledge.entity(other)) is not None
    ]
    briefing.sources = cite.refs(session)
    return renumber_in_reading_order(briefing)


def renumber_in_reading_order(briefing: Briefing) -> Briefing:
    """Sources numbered as a reader meets them: [1] is the first one cited on the page."""
    order: dict[int, int] = {}

    def seen(quote: Quote | None) -> None:
        if quote is not None:
            order.setdefault(quote.source, len(order) + 1)

    for quote in briefing.situation:
        seen(quote)
    for line in briefing.developments:
        seen(line.quote)
    for quote in briefing.outlook:
        seen(quote)
    for line in briefing.upcoming:
        seen(line.quote)
    for relation in briefing.relations:
        seen(relation.evidence)
    for figure in briefing.figures:
        seen(figure.quote)

    def renumbered(quote: Quote) -> Quote:
        return Quote(quote.text, order[quote.source])

    briefing.situation = [renumbered(q) for q in briefing.situation]
    briefing.developments = [replace(d, quote=renumbered(d.quote)) for d in briefing.developments]
    briefing.outlook = [renumbered(q) for q in briefing.outlook]
    briefing.upcoming = [replace(d, quote=renumbered(d.quote)) for d in briefing.upcoming]
    briefing.relations = [
        replace(r, evidence=renumbered(r.evidence) if r.evidence else None) for r in briefing.relations
    ]
    briefing.figures = [replace(f, quote=renumbered(f.quote)) for f in briefing.figures]
    briefing.sources = sorted(
        (replace(s, number=order[s.number]) for s in briefing.sources if s.number in order),
        key=lambda s: s.number,
    )
    return briefing


def compose_timeline(session: Session, knowledge: Knowledge, key: str, page: int, page_size: int = 10) -> Timeline | None:
    info = knowledge.entity(key)
    stats = entity_stats(session, key)
    if info is None or stats is None or stats.event_count == 0:
        return None
    pages = max(1, -(-stats.event_count // page_size))
    page = min(max(page, 1), pages)
    cite = Citations()
    rows = _event_rows(session, key, page_size, offset=(page - 1) * page_size, facts_only=False)
    lines = _dated_lines(rows, cite, None)
    return Timeline(info, lines, cite.refs(session), page, pages, stats.event_count)


def compose_article(session: Session, knowledge: Knowledge, article_id: int) -> ArticleView | None:
    article = session.get(Article, article_id)
    if article is None:
        return None
    mentions = session.execute(
        select(Mention).where(Mention.article_id == article_id).order_by(Mention.is_primary.desc(), Mention.salience.desc())
    ).scalars()
    entities, topics = [], []
    for mention in mentions:
        info = knowledge.entity(mention.entity_key)
        if info is None:
            continue
        (topics if info.kind == "topic" else entities).append(info)
    sections = [
        ArticleSection(s["name"], tuple(p for p in s["text"].split("\n\n") if p.strip())) for s in article.sections
    ]
    return ArticleView(
        source=source_ref(article, 1),
        category=article.category,
        sections=sections,
        author_bio=article.author_bio,
        entities=entities,
        topics=topics,
        summary_only=article.summary_only,
    )


def _summaries(
    session: Session, knowledge: Knowledge, articles: list[Article], snippets: dict[int, str] | None = None
) -> list[ArticleSummary]:
    ids = [a.id for a in articles]
    flags: dict[int, list[str]] = {}
    topics: dict[int, list[EntityInfo]] = {}
    if ids:
        for mention in session.execute(
            select(Mention)
            .where(Mention.article_id.in_(ids), or_(Mention.is_primary, Mention.entity_key.startswith("t:")))
            .order_by(Mention.salience.desc())
        ).scalars():
            info = knowledge.entity(mention.entity_key)
            if info is None:
                continue
            if info.kind == "country" and mention.is_primary:
                flags.setdefault(mention.article_id, []).append(info.emoji)
            elif info.kind == "topic" and len(topics.get(mention.article_id, [])) < 3:
                topics.setdefault(mention.article_id, []).append(info)
    return [
        ArticleSummary(
            source=source_ref(article, number),
            lede=trim_words(article.lede, 240),
            flags="".join(flags.get(article.id, [])),
            topics=tuple(topics.get(article.id, [])),
            snippet=(snippets or {}).get(article.id),
        )
        for number, article in enumerate(articles, start=1)
    ]


def compose_latest(session: Session, knowledge: Knowledge, limit: int = 8, key: str | None = None) -> ArticleList:
    query = select(Article)
    if key:
        query = query.join(Mention, Mention.article_id == Article.id).where(Mention.entity_key == key)
    articles = newest_first(session, query, Article.published, limit, Article.id.desc())
    return ArticleList("Latest analyses", _summaries(session, knowledge, articles))


def compose_coverage(session: Session, knowledge: Knowledge, kind: str) -> CoverageList:
    stats = {
        s.entity_key: s
        for s in session.execute(
            select(EntityStats).where(EntityStats.entity_key.startswith(kind[0] + ":"), EntityStats.article_count > 0)
        ).scalars()
    }
    if kind == "topic":
        entities = knowledge.topics()
        rows = [
            CoverageRow(e, stats[e.key].article_count if e.key in stats else 0, stats[e.key].last_published if e.key in stats else None)
            for e in entities
        ]
    else:
        rows = [
            CoverageRow(info, s.article_count, s.last_published)
            for key, s in stats.items()
            if (info := knowledge.entity(key)) is not None
        ]
    rows.sort(key=lambda r: (-r.article_count, r.entity.name))
    return CoverageList(kind, rows)


def article_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Article)).scalar_one()


def compose_search(session: Session, knowledge: Knowledge, query: str, *, limit: int, time_cap_ms: int) -> ArticleList:
    hits = search_articles(session, query, limit=limit, time_cap_ms=time_cap_ms)
    articles = {a.id: a for a in session.execute(select(Article).where(Article.id.in_(hits.article_ids))).scalars()} if hits.article_ids else {}
    ordered = [articles[i] for i in hits.article_ids if i in articles]
    result = ArticleList("Search", _summaries(session, knowledge, ordered, hits.snippets), query=query)
    result.truncated = hits.timed_out
    return result
