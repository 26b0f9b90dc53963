"""Managing sources: add, list, remove, describe, health; the `briefbot source` commands."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.ingest.capture import parse_capture
from bot.ingest.loader import source_for
from bot.ingest.persist import store_records
from bot.sources import fetch as fetch_module
from bot.sources.cli import register
from bot.sources.service import (
    KIND_UNKNOWN,
    SourceError,
    add_source,
    as_utc,
    format_source_line,
    list_sources,
    remove_source,
    source_health_summary,
)
from bot.store.db import session_scope
from bot.store.models import Article, Source
from tests.conftest import SAMPLE
from tests.test_sources_support import LocalServer, local_settings

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PUBLIC = local_settings(allow_private_sources=False)


@pytest.fixture
def public_dns(monkeypatch):
    """Every name resolves to a public address: no network, and the address check passes."""
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: ["93.184.216.34"])


def test_add_derives_a_unique_name_from_the_host(engine, public_dns):
    with session_scope(engine) as session:
        first = add_source(session, "https://www.cacianalyst.org/publications/analytical-articles.html",
                           settings=PUBLIC, now=NOW)
        second = add_source(session, "https://cacianalyst.org/feed.rss", settings=PUBLIC, now=NOW)
        third = add_source(session, "https://www.cacianalyst.org/other.rss", settings=PUBLIC, now=NOW)
    assert [first.name, second.name, third.name] == ["cacianalyst.org", "cacianalyst.org-2", "cacianalyst.org-3"]
    assert first.kind == KIND_UNKNOWN
    assert first.poll_every_minutes == 60 and first.fetch_full_text
    assert as_utc(first.next_poll_at) == NOW  # due at once
    assert first.consecutive_failures == 0 and first.healthy


def test_add_takes_name_interval_and_full_text(engine, public_dns):
    with session_scope(engine) as session:
        source = add_source(session, "https://example.org/feed", name="  CACI   feed ", every_minutes=15,
                            full_text=False, settings=PUBLIC, now=NOW)
    assert (source.name, source.poll_every_minutes, source.fetch_full_text) == ("CACI feed", 15, False)


@pytest.mark.parametrize(
    "url,options,message",
    [
        ("ftp://example.org/feed", {}, "only http and https"),
        ("not a url", {}, "http"),
        ("https://user:pw@example.org/", {}, "credentials"),
        ("https://example.org/feed", {"every_minutes": 1}, "between 5 and"),
        ("https://example.org/feed", {"every_minutes": 100_000}, "between 5 and"),
        ("https://example.org/feed", {"name": "   "}, "empty"),
        ("https://example.org/feed", {"name": "x" * 201}, "longer than 200"),
    ],
)
def test_add_refuses_bad_requests(engine, public_dns, url, options, message):
    with session_scope(engine) as session, pytest.raises(SourceError, match=message):
        add_source(session, url, settings=PUBLIC, **options)


def test_add_refuses_duplicates(engine, public_dns):
    with session_scope(engine) as session:
        add_source(session, "https://example.org/feed", name="one", settings=PUBLIC)
        with pytest.raises(SourceError, match="already a source: one"):
            add_source(session, "https://example.org/feed", settings=PUBLIC)
        with pytest.raises(SourceError, match="exists already"):
            add_source(session, "https://example.org/other", name="one", settings=PUBLIC)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/feed", "http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/"]
)
def test_add_refuses_private_addresses_unless_allowed(engine, url):
    with session_scope(engine) as session:
        with pytest.raises(SourceError, match="non-public"):
            add_source(session, url, settings=PUBLIC)
        assert add_source(session, url, settings=local_settings(allow_private_sources=True)).url


def test_add_refuses_a_name_resolving_privately(engine, monkeypatch):
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: ["10.1.2.3"])
    with session_scope(engine) as session, pytest.raises(SourceError, match="10.1.2.3"):
        add_source(session, "https://intranet.example/feed", settings=PUBLIC)


def test_list_shows_live_sources_only_and_remove_keeps_articles(engine, knowledge, public_dns):
    with session_scope(engine) as session:
        file_source = source_for(session, "capture.txt")
        store_records(session, parse_capture(SAMPLE.read_text(encoding="utf-8"))[:1], knowledge,
                      source_id=file_source.id)
        live = add_source(session, "https://example.org/feed", name="feed", settings=PUBLIC)
        add_source(session, "https://example.org/page", name="page", settings=PUBLIC)
        article = session.execute(select(Article)).scalars().one()
        article.source_id = live.id
    with Session(engine) as session:
        assert [s.name for s in list_sources(session)] == ["feed", "page"]
    with session_scope(engine) as session:
        assert remove_source(session, "feed")
        assert not remove_source(session, "feed")
        assert not remove_source(session, "capture.txt")  # files are not live sources
    with Session(engine) as session:
        assert [s.name for s in list_sources(session)] == ["page"]
        assert session.execute(select(Article.source_id)).scalars().one() is None


def test_format_source_line():
    source = Source(
        name="caci", url="https://example.org/feed.rss", kind="rss", poll_every_minutes=60,
        fetch_full_text=True, last_polled_at=NOW - dt.timedelta(minutes=5),
        last_success_at=NOW - dt.timedelta(minutes=5), next_poll_at=NOW + dt.timedelta(minutes=55),
        consecutive_failures=0, healthy=True,
    )
    assert format_source_line(source, NOW) == (
        "caci [rss] https://example.org/feed.rss | every 1 h | full text on | last poll 5 min ago"
        " | last success 5 min ago | failures 0 | healthy | next poll in 55 min"
    )
    source.healthy, source.consecutive_failures, source.last_error = False, 6, "HTTP 503 from https://example.org/feed.rss"
    source.last_success_at = NOW - dt.timedelta(days=3)
    source.next_poll_at = NOW + dt.timedelta(hours=20)
    line = format_source_line(source, NOW)
    assert "UNHEALTHY: HTTP 503" in line and "last success 3 d ago" in line and "next poll in 20 h" in line
    fresh = Source(name="new", url="https://example.org/", kind="unknown", poll_every_minutes=90,
                   next_poll_at=NOW.replace(tzinfo=None))  # SQLite hands back naive UTC
    assert "last poll never" in format_source_line(fresh, NOW) and "due now" in format_source_line(fresh, NOW)


def test_health_summary(engine, public_dns):
    with session_scope(engine) as session:
        ok = add_source(session, "https://example.org/a", name="a", settings=PUBLIC, now=NOW)
        failing = add_source(session, "https://example.org/b", name="b", settings=PUBLIC, now=NOW)
        sick = add_source(session, "https://example.org/c", name="c", settings=PUBLIC, now=NOW)
        ok.last_success_at = NOW
        failing.consecutive_failures, failing.last_error = 2, "timed out"
        sick.consecutive_failures, sick.last_error, sick.healthy = 5, "HTTP 500", False
    with Session(engine) as session:
        health = source_health_summary(session)
    assert (health["total"], health["healthy"], health["unhealthy"], health["failing"]) == (3, 2, 1, 1)
    assert health["unhealthy_sources"][0]["name"] == "c"
    assert health["unhealthy_sources"][0]["last_error"] == "HTTP 500"
    assert health["failing_sources"][0]["name"] == "b"
    assert health["last_success_at"] == NOW and health["next_poll_at"] == NOW


# --- the `briefbot source` commands ------------------------------------------------------


@dataclass
class Ctx:
    engine: Any
    knowledge: Any
    settings: Any


def run(ctx: Ctx, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="briefbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.handler(args, ctx)


@pytest.fixture
def server():
    server = LocalServer()
    server.add_site()
    yield server
    server.stop()


def test_source_commands_end_to_end(engine, knowledge, server, capsys):
    ctx = Ctx(engine, knowledge, local_settings())
    assert run(ctx, "source", "list") == 0
    assert "no live sources" in capsys.readouterr().out

    assert run(ctx, "source", "add", server.url("/feed.rss"), "--name", "caci", "--every", "30") == 0
    assert "added caci" in capsys.readouterr().out
    assert run(ctx, "source", "add", server.url("/summary.rss"), "--no-full-text") == 0
    assert "full text off" in capsys.readouterr().out
    assert run(ctx, "source", "add", "ftp://example.org/x") == 2
    assert "only http and https" in capsys.readouterr().err

    assert run(ctx, "source", "poll", "caci") == 0
    assert capsys.readouterr().out.strip() == "caci [rss]: 2 new, 0 updated, 0 unchanged"

    server.add("/summary.rss", "down", status=500, content_type="text/plain")
    assert run(ctx, "source", "poll") == 1
    captured = capsys.readouterr()
    assert "caci [rss]: 0 new, 0 updated, 2 unchanged" in captured.out
    assert "127.0.0.1: failed: HTTP 500" in captured.err

    assert run(ctx, "source", "list") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("127.0.0.1 [unknown]") and "failures 1" in lines[0]
    assert lines[1].startswith("caci [rss]") and "healthy" in lines[1] and "every 30 min" in lines[1]

    assert run(ctx, "source", "poll", "nope") == 2
    assert run(ctx, "source", "remove", "caci") == 0
    assert run(ctx, "source", "remove", "caci") == 2
    capsys.readouterr()
    with Session(engine) as session:
        assert len(session.execute(select(Article)).all()) == 2  # articles stay
