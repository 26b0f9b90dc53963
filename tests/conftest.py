"""Shared fixtures: migrated databases on SQLite and PostgreSQL, knowledge, the CLI.

PostgreSQL runs when TEST_DATABASE_URL is set (`.ci/run` sets it); each test session
gets its own schema, migrated once, and each test starts from empty tables. SQLite tests
copy a database file migrated once per session.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.config import PROJECT_ROOT, normalise_database_url
from bot.enrich import compiled_modules, stale_compiled_modules
from bot.store.db import make_engine, upgrade

SAMPLE = PROJECT_ROOT / "data" / "cacianalyst-2025-sep-nov.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL", "").strip())
PG_REASON = "PostgreSQL pass skipped: TEST_DATABASE_URL is not set (.ci/run sets it)"

POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=PG_REASON))
BACKENDS = ["sqlite", POSTGRESQL]
# For tests that only make sense on one backend: they select it instead of skipping.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", [POSTGRESQL], indirect=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    compiled = compiled_modules()
    enrichment = f"enrichment: compiled ({len(compiled)} modules)" if compiled else "enrichment: pure Python"
    if PG_URL:
        return [f"database backends: sqlite, postgresql ({PG_URL.rsplit('@', 1)[-1]})", enrichment]
    return [f"database backends: sqlite only -- {PG_REASON}", enrichment]


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_compiled_modules()
    if stale:  # the tests would exercise the code as it was, not as it is
        pytest.exit(f"bot/enrich changed since it was compiled ({', '.join(stale)}): run `make install`", 2)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if not PG_URL:
        terminalreporter.write_line(f"NOTE: {PG_REASON}", yellow=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@dataclass
class PgSchema:
    url: str
    engine: Engine
    tables: list[str]


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[PgSchema]:
    schema = f"bb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
                {"s": schema},
            )
        ]
    try:
        yield PgSchema(url, engine, tables)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fresh_sqlite(template: Path, directory: Path) -> str:
    path = directory / "briefbot.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def _fresh_postgres(schema: PgSchema) -> str:
    with schema.engine.begin() as connection:
        names = ", ".join(f'"{t}"' for t in schema.tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return schema.url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        return _fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    return _fresh_postgres(request.getfixturevalue("pg_schema"))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def knowledge():  # noqa: ANN201
    from bot.enrich import load_knowledge

    return load_knowledge(PROJECT_ROOT / "data")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    """Runs `briefbot ...` in-process against one database, capturing its output."""

    def __init__(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.database_url = database_url
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        monkeypatch.chdir(PROJECT_ROOT)

    def __call__(self, *args: str) -> CliResult:
        from bot.cli import main

        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse errors
                code = exc.code if isinstance(exc.code, int) else 1
        return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(database_url, monkeypatch)


@pytest.fixture
def sqlite_cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(sqlite_url, monkeypatch)
