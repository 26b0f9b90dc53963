"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("digest_weekday", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inactive_reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "digest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digest_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_run_at"), ["at"], unique=False)

    op.create_table(
        "entity",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("emoji", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("entity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_kind"), ["kind"], unique=False)

    op.create_table(
        "entity_relation",
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("other_key", sa.String(length=40), nullable=False),
        sa.Column("sentence_count", sa.Integer(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_key", "other_key"),
    )
    with op.batch_alter_table("entity_relation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entity_relation_rank",
            ["entity_key", "article_count", "sentence_count"],
            unique=False,
        )

    op.create_table(
        "entity_stats",
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("primary_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_published", sa.Date(), nullable=True),
        sa.Column("last_published", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_key"),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("poll_every_minutes", sa.Integer(), nullable=True),
        sa.Column("fetch_full_text", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_source_next_poll_at"), ["next_poll_at"], unique=False)

    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_inferred", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("date_inferred", sa.Boolean(), nullable=False),
        sa.Column("date_precision", sa.String(length=5), nullable=False),
        sa.Column("lede", sa.Text(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_bio", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("summary_only", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("title_key", sa.String(length=32), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_title_key"), ["title_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_ingested_at"), ["ingested_at"], unique=False)
        batch_op.create_index("ix_article_published_id", ["published", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_source_id"), ["source_id"], unique=False)

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "thread_id", name="uq_subscription_chat_thread"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index("ix_subscription_due", ["active", "next_due_at"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["digest_run.id"],
        ),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "period", name="uq_delivery_subscription_period"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index("ix_delivery_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "mention",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("salience", sa.Float(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "entity_key"),
    )
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mention_entity_published", ["entity_key", "published"], unique=False
        )
        batch_op.create_index(
            "ix_mention_entity_rank",
            ["entity_key", "is_primary", "published", "article_id"],
            unique=False,
        )

    op.create_table(
        "sentence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("paragraph", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("forward_looking", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sentence_article_position", ["article_id", "position"], unique=False
        )

    op.create_table(
        "subscription_filter",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscription_id", "kind", "value"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("sentence_id", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("precision", sa.String(length=5), nullable=False),
        sa.Column("year_inferred", sa.Boolean(), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sentence_id"], ["sentence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_article", ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_event_date"), ["event_date"], unique=False)

    op.create_table(
        "figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("sentence_id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sentence_id"], ["sentence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("figure", schema=None) as batch_op:
        batch_op.create_index("ix_figure_article", ["article_id"], unique=False)

    op.create_table(
        "sentence_entity",
        sa.Column("sentence_id", sa.Integer(), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sentence_id"], ["sentence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sentence_id", "entity_key"),
    )
    with op.batch_alter_table("sentence_entity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sentence_entity_entity_article", ["entity_key", "article_id"], unique=False
        )

    op.create_table(
        "event_entity",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "entity_key"),
    )
    with op.batch_alter_table("event_entity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_entity_entity_date", ["entity_key", "event_date", "event_id"], unique=False
        )

    op.create_table(
        "figure_entity",
        sa.Column("figure_id", sa.Integer(), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["figure_id"], ["figure.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("figure_id", "entity_key"),
    )
    with op.batch_alter_table("figure_entity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_figure_entity_entity_published",
            ["entity_key", "published", "figure_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("figure_entity", schema=None) as batch_op:
        batch_op.drop_index("ix_figure_entity_entity_published")

    op.drop_table("figure_entity")
    with op.batch_alter_table("event_entity", schema=None) as batch_op:
        batch_op.drop_index("ix_event_entity_entity_date")

    op.drop_table("event_entity")
    with op.batch_alter_table("sentence_entity", schema=None) as batch_op:
        batch_op.drop_index("ix_sentence_entity_entity_article")

    op.drop_table("sentence_entity")
    with op.batch_alter_table("figure", schema=None) as batch_op:
        batch_op.drop_index("ix_figure_article")

    op.drop_table("figure")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_event_date"))
        batch_op.drop_index("ix_event_article")

    op.drop_table("event")
    op.drop_table("subscription_filter")
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.drop_index("ix_sentence_article_position")

    op.drop_table("sentence")
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_index("ix_mention_entity_rank")
        batch_op.drop_index("ix_mention_entity_published")

    op.drop_table("mention")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_status_due")
        batch_op.drop_index(batch_op.f("ix_delivery_chat_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_due")

    op.drop_table("subscription")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_source_id"))
        batch_op.drop_index("ix_article_published_id")
        batch_op.drop_index(batch_op.f("ix_article_ingested_at"))
        batch_op.drop_index(batch_op.f("ix_article_content_hash"))
        batch_op.drop_index(batch_op.f("ix_article_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_article_title_key"))

    op.drop_table("article")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_next_poll_at"))
        batch_op.drop_index(batch_op.f("ix_source_name"))

    op.drop_table("source")
    op.drop_table("entity_stats")
    with op.batch_alter_table("entity_relation", schema=None) as batch_op:
        batch_op.drop_index("ix_entity_relation_rank")

    op.drop_table("entity_relation")
    with op.batch_alter_table("entity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_kind"))

    op.drop_table("entity")
    with op.batch_alter_table("digest_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_run_at"))

    op.drop_table("digest_run")
    op.drop_table("chat")
