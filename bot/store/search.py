"""Full-text search over articles, bounded by a result limit and a time cap.

SQLite uses the FTS5 table, PostgreSQL the weighted tsvector; both are kept in sync with
`article` by the migration `0002`. A very common word cannot stall the bot: past the
time cap the query is interrupted and the caller is told the search was too broad.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"
MAX_TERMS = 8
PROGRESS_EVERY_OPS = 200  # SQLite VM steps between two looks at the clock
_TERM = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchHits:
    article_ids: list[int]
    snippets: dict[int, str]
    timed_out: bool = False
    terms: tuple[str, ...] = ()


def query_terms(query: str) -> tuple[str, ...]:
    """Plain words only: user input never reaches the engines' query syntax."""
    return tuple(dict.fromkeys(t.lower() for t in _TERM.findall(query)))[:MAX_TERMS]


def search_articles(session: Session, query: str, *, limit: int = 10, time_cap_ms: int = 500) -> SearchHits:
    terms = query_terms(query)
    if not terms:
        return SearchHits([], {}, terms=terms)
    if session.get_bind().dialect.name == "postgresql":
        return _search_postgresql(session, terms, limit, time_cap_ms)
    return _search_sqlite(session, terms, limit, time_cap_ms)


def _search_sqlite(session: Session, terms: tuple[str, ...], limit: int, time_cap_ms: int) -> SearchHits:
    match = " ".join(f'"{t}"' for t in terms)
    dbapi = session.connection().connection.dbapi_connection
    deadline = time.monotonic() + time_cap_ms / 1000

    def over_time() -> int:
        return 1 if time.monotonic() > deadline else 0

    dbapi.set_progress_handler(over_time, PROGRESS_EVERY_OPS)
    try:
        rows = session.execute(
            text(
                "SELECT rowid, snippet(article_fts, 1, :start, :end, '…', 24) FROM article_fts "
                "WHERE article_fts MATCH :match ORDER BY rank LIMIT :limit"
            ),
            {"match": match, "limit": limit, "start": HIGHLIGHT_START, "end": HIGHLIGHT_END},
        ).all()
    except OperationalError as exc:
        if "interrupted" not in str(exc).lower():
            raise
        session.rollback()
        return SearchHits([], {}, timed_out=True, terms=terms)
    finally:
        dbapi.set_progress_handler(None, 0)
    return SearchHits([r[0] for r in rows], {r[0]: r[1] for r in rows}, terms=terms)


def _search_postgresql(session: Session, terms: tuple[str, ...], limit: int, time_cap_ms: int) -> SearchHits:
    savepoint = session.begin_nested()
    try:
        session.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(int(time_cap_ms))})
        rows = session.execute(
            text(
                "SELECT a.id, ts_headline('english', a.body, plainto_tsquery('english', :query), :options) "
                "FROM (SELECT id, ts_rank(search_vector, q) AS rank, published "
                "      FROM article, plainto_tsquery('english', :query) AS q WHERE search_vector @@ q "
                "      ORDER BY rank DESC, published DESC NULLS LAST LIMIT :limit) AS hit "
                "JOIN article a ON a.id = hit.id "
                "ORDER BY hit.rank DESC, hit.published DESC NULLS LAST"
            ),
            {
                "query": " ".join(terms),
                "limit": limit,
                "options": f"StartSel={HIGHLIGHT_START},StopSel={HIGHLIGHT_END},MaxWords=30,MinWords=12,MaxFragments=1",
            },
        ).all()
        session.execute(text("SELECT set_config('statement_timeout', '0', true)"))
        savepoint.commit()
    except DBAPIError as exc:
        savepoint.rollback()
        if "statement timeout" in str(exc).lower() or "canceling statement" in str(exc).lower():
            return SearchHits([], {}, timed_out=True, terms=terms)
        raise
    return SearchHits([r[0] for r in rows], {r[0]: r[1] for r in rows}, terms=terms)
