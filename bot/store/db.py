"""Engines and sessions for SQLite and PostgreSQL, and running the migrations.

Nothing here is global: callers create an engine from their settings and pass it on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    if database_url.startswith("sqlite"):
        if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
            Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            database_url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(database_url, echo=echo, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI hook
    cursor = dbapi_connection.cursor()
    # WAL lets the bot read while an ingest writes; foreign keys make cascades real.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic's schema comparison: full-text machinery is raw SQL per dialect, not models."""
    if type_ == "table" and name and name.startswith("article_fts"):
        return False
    if type_ == "column" and name == "search_vector":
        return False
    if type_ == "index" and name == "ix_article_search_vector":
        return False
    return True


PLANNER_TABLES = (
    "article",
    "mention",
    "sentence",
    "sentence_entity",
    "event",
    "event_entity",
    "figure",
    "figure_entity",
    "entity_relation",
    "entity_stats",
)


def refresh_planner_statistics(engine: Engine) -> None:
    """Let the query planner see what a bulk load changed.

    Briefing queries are fast only with good plans, and plans need statistics: without
    them PostgreSQL guesses row counts and can pick an index that reads a hundred
    thousand rows where a handful would do. Autovacuum may be off, or behind a load.
    """
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE " + ", ".join(PLANNER_TABLES))
        else:
            connection.exec_driver_sql("ANALYZE")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


class NotMigrated(RuntimeError):
    """The database schema is not the one this code expects."""


def require_current_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        raise NotMigrated(
            f"the database {where} is at revision {current or 'none'}, this code needs {head}: "
            "run `briefbot db upgrade` (or `make migrate`)"
        )


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
