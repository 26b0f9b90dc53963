"""SQLModel tables: the whole persistent schema.

Migrations in `bot/store/migrations/` create exactly these tables; a test compares the
two. Telegram chat ids exceed 32 bits, hence BigInteger wherever one is stored.
Entity keys ("c:AM", "o:NATO", "t:caspian") are described in `bot.enrich.model`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- corpus -----------------------------------------------------------------------------


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    kind: str = Field(
        default="file", max_length=20
    )  # file, rss, atom, page, listing, capture, jsonl
    poll_every_minutes: int | None = None
    fetch_full_text: bool = False
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    last_polled_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    next_poll_at: dt.datetime | None = Field(default=None, index=True)
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    healthy: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


class Article(SQLModel, table=True):
    __table_args__ = (Index("ix_article_published_id", "published", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    title: str = Field(sa_type=Text)
    title_inferred: bool = False
    author: str | None = Field(default=None, max_length=300)
    published: dt.date | None = None
    date_inferred: bool = False
    date_precision: str = Field(default="day", max_length=5)  # an inferred date may be a month or year
    lede: str = Field(default="", sa_type=Text)
    sections: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    body: str = Field(default="", sa_type=Text)  # every section's text, for full-text search
    author_bio: str | None = Field(default=None, sa_type=Text)
    category: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000, unique=True)
    summary_only: bool = False
    content_hash: str = Field(max_length=64, index=True)
    fingerprint: str = Field(max_length=32, index=True)  # author + opening words of the lede
    title_key: str | None = Field(default=None, max_length=32, index=True)  # author + given title
    ingested_at: dt.datetime = Field(default_factory=utcnow, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)


# --- enrichment -------------------------------------------------------------------------


class Entity(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=10, index=True)  # country, org, topic
    name: str = Field(max_length=200)
    emoji: str = Field(default="", max_length=20)


class Mention(SQLModel, table=True):
    """Per article and entity: how much the article is about it."""

    __table_args__ = (
        Index("ix_mention_entity_rank", "entity_key", "is_primary", "published", "article_id"),
        Index("ix_mention_entity_published", "entity_key", "published"),
    )

    article_id: int = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    entity_key: str = Field(primary_key=True, max_length=40)
    mentions: int
    salience: float
    is_primary: bool = False
    published: dt.date | None = None  # the article's, copied so rankings need no join


class Sentence(SQLModel, table=True):
    __table_args__ = (Index("ix_sentence_article_position", "article_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    position: int
    section: str = Field(max_length=40)
    paragraph: int = 0
    text: str = Field(sa_type=Text)
    forward_looking: bool = False


class SentenceEntity(SQLModel, table=True):
    __tablename__ = "sentence_entity"
    __table_args__ = (Index("ix_sentence_entity_entity_article", "entity_key", "article_id"),)

    sentence_id: int = Field(foreign_key="sentence.id", primary_key=True, ondelete="CASCADE")
    entity_key: str = Field(primary_key=True, max_length=40)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")


class Event(SQLModel, table=True):
    __table_args__ = (Index("ix_event_article", "article_id"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    sentence_id: int = Field(foreign_key="sentence.id", ondelete="CASCADE")
    event_date: dt.date = Field(index=True)
    precision: str = Field(max_length=5)  # day, month, year
    year_inferred: bool = False
    phrase: str = Field(max_length=200)


class EventEntity(SQLModel, table=True):
    __tablename__ = "event_entity"
    __table_args__ = (Index("ix_event_entity_entity_date", "entity_key", "event_date", "event_id"),)

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    entity_key: str = Field(primary_key=True, max_length=40)
    event_date: dt.date


class Figure(SQLModel, table=True):
    __table_args__ = (Index("ix_figure_article", "article_id"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    sentence_id: int = Field(foreign_key="sentence.id", ondelete="CASCADE")
    phrase: str = Field(max_length=200)
    kind: str = Field(max_length=10)
    value: float | None = None
    unit: str | None = Field(default=None, max_length=20)


class FigureEntity(SQLModel, table=True):
    __tablename__ = "figure_entity"
    __table_args__ = (
        Index("ix_figure_entity_entity_published", "entity_key", "published", "figure_id"),
    )

    figure_id: int = Field(foreign_key="figure.id", primary_key=True, ondelete="CASCADE")
    entity_key: str = Field(primary_key=True, max_length=40)
    published: dt.date | None = None


class EntityStats(SQLModel, table=True):
    """Coverage per entity, recomputed for the entities an ingest touched."""

    __tablename__ = "entity_stats"

    entity_key: str = Field(primary_key=True, max_length=40)
    article_count: int = 0
    primary_count: int = 0
    event_count: int = 0
    first_published: dt.date | None = None
    last_published: dt.date | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow)


class EntityRelation(SQLModel, table=True):
    """How often two entities are discussed in the same sentence and the same articles.

    Maintained incrementally: an article's pairs are added when it is enriched and
    subtracted when its enrichment is replaced, so no ingest rescans the corpus.
    """

    __tablename__ = "entity_relation"
    __table_args__ = (
        Index("ix_entity_relation_rank", "entity_key", "article_count", "sentence_count"),
    )

    entity_key: str = Field(primary_key=True, max_length=40)
    other_key: str = Field(primary_key=True, max_length=40)
    sentence_count: int = 0
    article_count: int = 0


# --- chats, subscriptions, deliveries --------------------------------------------------


class Chat(SQLModel, table=True):
    id: int = Field(sa_type=BigInteger, primary_key=True)
    type: str = Field(default="private", max_length=20)
    title: str | None = Field(default=None, max_length=300)
    timezone: str = Field(default="UTC", max_length=64)
    digest_hour: int = 9
    digest_weekday: int = 0  # Monday
    active: bool = True
    inactive_reason: str | None = Field(default=None, max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Subscription(SQLModel, table=True):
    """One digest schedule per chat (and forum thread); filters narrow what it carries."""

    __table_args__ = (
        UniqueConstraint("chat_id", "thread_id", name="uq_subscription_chat_thread"),
        Index("ix_subscription_due", "active", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, foreign_key="chat.id", ondelete="CASCADE")
    thread_id: int = Field(default=0, sa_type=BigInteger)  # 0: the chat itself, not a topic
    frequency: str = Field(default="weekly", max_length=10)  # daily, weekly
    active: bool = True
    next_due_at: dt.datetime  # UTC
    since: dt.datetime  # articles ingested after this go into the next digest
    created_at: dt.datetime = Field(default_factory=utcnow)


class SubscriptionFilter(SQLModel, table=True):
    __tablename__ = "subscription_filter"

    subscription_id: int = Field(
        foreign_key="subscription.id", primary_key=True, ondelete="CASCADE"
    )
    kind: str = Field(primary_key=True, max_length=10)  # entity, keyword
    value: str = Field(primary_key=True, max_length=200)  # entity key or normalised phrase


class DigestRun(SQLModel, table=True):
    __tablename__ = "digest_run"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    worker: str = Field(default="", max_length=100)
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    uncertain: int = 0


class DigestEdition(SQLModel, table=True):
    """One composed digest, shared by every delivery with the same filters, window and kind.

    The messages are stored as rendered, so a delivery resumed after a crash sends exactly
    the parts it had not sent yet, and N subscribers with one filter set cost one compose.
    """

    __tablename__ = "digest_edition"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)  # sha256 of kind, frequency, filters, window
    frequency: str = Field(max_length=10)
    filters: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    window_start: dt.datetime
    window_end: dt.datetime
    item_count: int = 0  # matching analyses, including those beyond the shown maximum
    messages: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """The outbox: one row per subscription and period, written before anything is sent."""

    __table_args__ = (
        UniqueConstraint("subscription_id", "period", name="uq_delivery_subscription_period"),
        Index("ix_delivery_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", ondelete="CASCADE")
    chat_id: int = Field(sa_type=BigInteger, index=True)
    thread_id: int = Field(default=0, sa_type=BigInteger)
    period: str = Field(max_length=40)  # "2026-W48" or "2026-11-26"
    due_at: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime
    status: str = Field(
        default="pending", max_length=12
    )  # pending, sending, sent, failed, skipped, uncertain, empty
    attempts: int = 0
    parts_sent: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    run_id: int | None = Field(default=None, foreign_key="digest_run.id")
    edition_id: int | None = Field(default=None, foreign_key="digest_edition.id", index=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
