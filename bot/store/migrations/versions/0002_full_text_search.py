"""full-text search over articles, per dialect

SQLite: an FTS5 table with external content, kept in sync by triggers.
PostgreSQL: a generated, weighted tsvector column with a GIN index.
Note for later migrations: a SQLite batch rebuild of `article` drops these triggers;
re-create them (see `_SQLITE_TRIGGERS`) in any migration that rebuilds that table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
         INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
       END""",
    """CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
         INSERT INTO article_fts(article_fts, rowid, title, body)
         VALUES ('delete', old.id, old.title, old.body);
       END""",
    """CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body ON article BEGIN
         INSERT INTO article_fts(article_fts, rowid, title, body)
         VALUES ('delete', old.id, old.title, old.body);
         INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
       END""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            "title, body, content='article', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO article_fts(article_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(body, '')), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_article_search_vector ON article USING GIN (search_vector)")
    else:
        raise NotImplementedError(f"full-text search is not set up for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("article_fts_insert", "article_fts_delete", "article_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS article_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_search_vector")
        op.execute("ALTER TABLE article DROP COLUMN IF EXISTS search_vector")
