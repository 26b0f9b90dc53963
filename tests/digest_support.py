"""Helpers shared by the digest tests: articles with known mentions and ingest times,
settings pointed at a local Bot API emulator, an App with the digest plugged in.

Articles are inserted directly (not through the enrichment pipeline) so that every test
knows exactly which entities an article mentions and when it was first stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config import Settings
from bot.store.db import session_scope
from bot.store.models import Article, Delivery, Mention

TOKEN = "123456:TEST-token"
_serial = itertools.count(1)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def make_settings(
    database_url: str, base_url: str = "http://127.0.0.1:9/bot", **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": base_url,
        "digest_send_rate": 25.0,
        "digest_per_chat_interval": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def add_article(
    session: Session,
    *,
    title: str,
    ingested_at: dt.datetime,
    entities: dict[str, tuple[int, bool]] | None = None,
    lede: str = "",
    body: str = "",
    published: dt.date | None = None,
    title_inferred: bool = False,
    date_inferred: bool = False,
    author: str | None = "A. Analyst",
) -> int:
    """An article and its mentions: entities maps a key to (mention count, is primary)."""
    serial = next(_serial)
    fingerprint = hashlib.sha256(f"{title}|{serial}".encode()).hexdigest()
    article = Article(
        title=title,
        title_inferred=title_inferred,
        author=author,
        published=published or ingested_at.date(),
        date_inferred=date_inferred,
        lede=lede or f"{title}. A second sentence of the lede.",
        sections=[{"name": "Lede", "text": lede or title}],
        body=body or lede or title,
        content_hash=fingerprint,
        fingerprint=fingerprint[:32],
        ingested_at=ingested_at,
        updated_at=ingested_at,
    )
    session.add(article)
    session.flush()
    for key, (count, primary) in (entities or {}).items():
        session.add(
            Mention(
                article_id=article.id,
                entity_key=key,
                mentions=count,
                salience=min(1.0, count / 10),
                is_primary=primary,
                published=article.published,
            )
        )
    session.flush()
    return article.id


def add_articles(engine: Engine, specs: Iterable[dict]) -> list[int]:
    with session_scope(engine) as session:
        return [add_article(session, **spec) for spec in specs]


def deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())


def texts(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)
