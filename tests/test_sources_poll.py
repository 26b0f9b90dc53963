"""Polling against a local server: kinds, conditional GET, failures, backoff, health, dedupe.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.ingest.capture import parse_capture
from bot.ingest.loader import source_for
from bot.ingest.persist import store_records
from bot.sources import poll as poll_module
from bot.sources.poll import backoff_delay, poll_due_sources, poll_sources
from bot.sources.service import (
    UNHEALTHY_AFTER,
    add_source,
    as_utc,
    format_source_line,
    get_source,
    source_health_summary,
)
from bot.store.db import session_scope
from bot.store.models import Article, Source
from tests.conftest import SAMPLE
from tests.test_sources_support import PAGE_1, PAGE_2, LocalServer, local_settings

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
EVERY = 30
SETTINGS = local_settings()


@pytest.fixture
def server():
    server = LocalServer()
    server.add_site()
    yield server
    server.stop()


def add(engine, url, **options):
    options.setdefault("every_minutes", EVERY)
    options.setdefault("settings", SETTINGS)
    with session_scope(engine) as session:
        source = add_source(session, url, now=NOW, **options)
        return source.name


def source_state(engine, name) -> Source:
    with Session(engine) as session:
        source = get_source(session, name)
        session.expunge(source)
        return source


def articles(engine) -> list[tuple]:
    with Session(engine) as session:
        return [
            (a.id, a.url, a.content_hash, a.summary_only, a.source_id, as_utc(a.updated_at), a.title)
            for a in session.execute(select(Article).order_by(Article.id)).scalars()
        ]


def article_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Article)).scalar_one()


def poll(engine, knowledge, at=NOW, settings=SETTINGS, **options):
    return poll_due_sources(engine, knowledge, settings, at, rng=random.Random(7), **options)


def test_a_feed_is_polled_stored_and_scheduled(engine, knowledge, server):
    server.routes["/feed.rss"].etag = '"feed-v1"'
    name = add(engine, server.url("/feed.rss"))
    [result] = poll(engine, knowledge)
    assert result.ok and result.kind == "rss"
    assert (result.new, result.updated, result.unchanged) == (2, 0, 0)
    assert result.line == f"{name} [rss]: 2 new, 0 updated, 0 unchanged"
    source = source_state(engine, name)
    assert source.kind == "rss" and source.etag == '"feed-v1"'
    assert as_utc(source.last_polled_at) == NOW == as_utc(source.last_success_at)
    assert as_utc(source.next_poll_at) == NOW + dt.timedelta(minutes=EVERY)
    assert source.consecutive_failures == 0 and source.healthy
    stored = articles(engine)
    assert [a[1] for a in stored] == [server.url(PAGE_1), server.url(PAGE_2)]
    assert all(a[4] == source.id and not a[3] for a in stored)
    # Nothing is due before the interval is up.
    assert poll(engine, knowledge, at=NOW + dt.timedelta(minutes=EVERY - 1)) == []
    assert server.paths_requested() == ["/feed.rss"]


def test_the_second_poll_is_conditional_and_a_304_changes_only_the_poll_times(engine, knowledge, server):
    route = server.routes["/feed.atom"]
    route.etag, route.last_modified = '"atom-1"', "Thu, 06 Nov 2025 15:00:00 GMT"
    name = add(engine, server.url("/feed.atom"))
    poll(engine, knowledge)
    before, source_before = articles(engine), source_state(engine, name)
    later = NOW + dt.timedelta(minutes=EVERY)
    [result] = poll(engine, knowledge, at=later)
    assert result.ok and result.not_modified and result.line == f"{name}: not modified"
    headers = server.requests[-1].headers
    assert headers["if-none-match"] == '"atom-1"'
    assert headers["if-modified-since"] == "Thu, 06 Nov 2025 15:00:00 GMT"
    assert articles(engine) == before
    after = source_state(engine, name)
    assert as_utc(after.last_polled_at) == later == as_utc(after.last_success_at)
    assert as_utc(after.next_poll_at) == later + dt.timedelta(minutes=EVERY)
    for unchanged in ("etag", "last_modified", "kind", "consecutive_failures", "healthy", "url"):
        assert getattr(after, unchanged) == getattr(source_before, unchanged)


def test_a_server_error_counts_backs_off_and_leaves_the_articles(engine, knowledge, server):
    name = add(engine, server.url("/feed.rss"))
    poll(engine, knowledge)
    before = articles(engine)
    server.add("/feed.rss", "down", status=500, content_type="text/plain")
    later = NOW + dt.timedelta(minutes=EVERY)
    [result] = poll(engine, knowledge, at=later)
    assert not result.ok and "HTTP 500" in result.error
    assert result.line.startswith(f"{name}: failed: HTTP 500")
    assert articles(engine) == before
    source = source_state(engine, name)
    assert source.consecutive_failures == 1 and source.healthy
    assert "HTTP 500" in source.last_error
    assert as_utc(source.last_success_at) == NOW and as_utc(source.last_polled_at) == later
    delay = as_utc(source.next_poll_at) - later
    assert dt.timedelta(minutes=EVERY * 2 * 0.8) <= delay <= dt.timedelta(minutes=EVERY * 2 * 1.2)
    # Not retried before the backoff is over.
    assert poll(engine, knowledge, at=later + dt.timedelta(minutes=EVERY)) == []


def test_a_source_failing_repeatedly_turns_unhealthy_and_recovers(engine, knowledge, server):
    server.add("/flaky.rss", "no", status=503, content_type="text/plain")
    name = add(engine, server.url("/flaky.rss"))
    at = NOW
    delays = []
    for attempt in range(1, UNHEALTHY_AFTER + 1):
        [result] = poll(engine, knowledge, at=at)
        assert not result.ok and result.consecutive_failures == attempt
        assert result.healthy == (attempt < UNHEALTHY_AFTER)
        source = source_state(engine, name)
        delays.append(as_utc(source.next_poll_at) - at)
        assert poll(engine, knowledge, at=at + delays[-1] - dt.timedelta(seconds=1)) == []
        at = as_utc(source.next_poll_at)
    assert delays == sorted(delays) and all(d <= dt.timedelta(hours=24) for d in delays)
    assert "UNHEALTHY" in result.line
    source = source_state(engine, name)
    assert not source.healthy
    line = format_source_line(source, at)
    assert "UNHEALTHY: HTTP 503" in line and "failures 5" in line
    with Session(engine) as session:
        health = source_health_summary(session)
    assert health["unhealthy"] == 1 and health["unhealthy_sources"][0]["name"] == name
    assert server.paths_requested() == ["/flaky.rss"] * UNHEALTHY_AFTER

    server.add_fixture("/flaky.rss", "feed.rss", "application/rss+xml")
    [result] = poll(engine, knowledge, at=at)
    assert result.ok and result.new == 2
    source = source_state(engine, name)
    assert source.healthy and source.consecutive_failures == 0 and source.last_error is None


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(3)
    for failures in range(1, 6):
        delay = backoff_delay(60, failures, rng)
        base = dt.timedelta(minutes=60 * 2**failures)
        assert min(base * 0.8, dt.timedelta(hours=24)) <= delay <= min(base * 1.2, dt.timedelta(hours=24))
    assert backoff_delay(60, 30, rng) <= dt.timedelta(hours=24)
    assert len({backoff_delay(60, 1, random.Random(seed)) for seed in range(5)}) > 1


def test_a_failure_while_storing_rolls_the_articles_back(engine, knowledge, server, monkeypatch):
    name = add(engine, server.url("/feed.rss"))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(poll_module, "_mark_success", broken)
    [result] = poll(engine, knowledge)
    assert not result.ok and result.error == "RuntimeError: disk full"
    assert article_count(engine) == 0
    source = source_state(engine, name)
    assert source.consecutive_failures == 1 and source.kind == "unknown" and source.etag is None


@pytest.mark.parametrize(
    "route,settings,reason",
    [
        ({"body": b"", "content_type": "text/plain", "delay": 2.0}, local_settings(fetch_timeout_seconds=0.3), "timed out"),
        ({"body": b"x" * 5000, "content_type": "text/plain"}, local_settings(fetch_max_bytes=1000), "larger than"),
        ({"body": b"\x89PNG", "content_type": "image/png"}, SETTINGS, "unsupported content type image/png"),
        ({"body": b"<?xml version='1.0'?><svg/>", "content_type": "application/xml"}, SETTINGS, "not a feed"),
        ({"body": b"<html><body><nav>Home</nav></body></html>", "content_type": "text/html"}, SETTINGS, "no article"),
    ],
)
def test_bad_responses_fail_the_poll(engine, knowledge, server, route, settings, reason):
    server.add("/bad", **route)
    name = add(engine, server.url("/bad"))
    [result] = poll(engine, knowledge, settings=settings)
    assert not result.ok and reason in result.error
    assert article_count(engine) == 0
    assert source_state(engine, name).consecutive_failures == 1


def test_a_private_source_is_refused_at_poll_time_without_the_setting(engine, knowledge, server):
    name = add(engine, server.url("/feed.rss"))
    [result] = poll(engine, knowledge, settings=local_settings(allow_private_sources=False))
    assert not result.ok and "non-public address" in result.error
    assert server.requests == [] and article_count(engine) == 0
    assert source_state(engine, name).consecutive_failures == 1


def test_the_same_article_from_a_capture_and_a_feed_is_stored_once(engine, knowledge, server):
    with session_scope(engine) as session:
        source = source_for(session, "capture.txt")
        counts = store_records(session, parse_capture(SAMPLE.read_text(encoding="utf-8")), knowledge, source_id=source.id)
    assert counts.new == 5
    add(engine, server.url("/feed.rss"))
    [result] = poll(engine, knowledge)
    assert (result.new, result.updated, result.unchanged) == (0, 2, 0)  # they gained their URLs
    assert article_count(engine) == 5
    urls = sorted(a[1] for a in articles(engine) if a[1])
    assert urls == sorted([server.url(PAGE_1), server.url(PAGE_2)])


def test_the_same_article_from_a_feed_and_a_served_capture_is_stored_once(engine, knowledge, server):
    server.add("/capture.txt", SAMPLE.read_bytes(), content_type="text/plain; charset=utf-8")
    add(engine, server.url("/feed.atom"), name="atom")
    add(engine, server.url("/capture.txt"), name="capture")
    results = {r.source: r for r in poll(engine, knowledge)}
    assert (results["atom"].kind, results["capture"].kind) == ("atom", "capture")
    assert (results["atom"].new, results["capture"].new, results["capture"].unchanged) == (2, 3, 2)
    assert article_count(engine) == 5
    assert sum(1 for a in articles(engine) if a[1]) == 2  # the feed's URLs kept


def test_a_summary_only_feed_fetches_the_full_text_when_allowed(engine, knowledge, server):
    add(engine, server.url("/summary.rss"), full_text=True)
    [result] = poll(engine, knowledge)
    assert result.ok and result.kind == "rss" and result.new == 2
    assert server.paths_requested() == ["/summary.rss", PAGE_1, PAGE_2]
    with Session(engine) as session:
        stored = list(session.execute(select(Article).order_by(Article.id)).scalars())
    assert [a.url for a in stored] == [server.url(PAGE_1), server.url(PAGE_2)]
    assert [a.title for a in stored] == [
        "Russia Reengages with Armenia (and Azerbaijan)",
        "China's Road to Europe Passes through Azerbaijan",
    ]
    for article in stored:
        assert not article.summary_only
        assert [s["name"] for s in article.sections] == ["Lede", "Background", "Implications", "Conclusions"]
        assert article.author_bio and not article.date_inferred


def test_a_summary_only_feed_without_full_text_stores_summaries_flagged(engine, knowledge, server):
    name = add(engine, server.url("/summary.rss"), full_text=False)
    [result] = poll(engine, knowledge)
    assert result.new == 2 and server.paths_requested() == ["/summary.rss"]
    with Session(engine) as session:
        stored = list(session.execute(select(Article).order_by(Article.id)).scalars())
    assert all(a.summary_only and [s["name"] for s in a.sections] == ["Lede"] for a in stored)
    assert stored[0].url == server.url(PAGE_1)

    # Allowed later, the next poll replaces the summaries with the full texts.
    with session_scope(engine) as session:
        get_source(session, name).fetch_full_text = True
    [result] = poll(engine, knowledge, at=NOW + dt.timedelta(minutes=EVERY))
    assert (result.new, result.updated) == (0, 2)
    with Session(engine) as session:
        assert not any(session.execute(select(Article.summary_only)).scalars())


def test_a_summary_never_replaces_a_stored_full_text(engine, knowledge, server):
    add(engine, server.url("/feed.rss"), name="full")
    add(engine, server.url("/summary.rss"), name="summaries", full_text=False)
    results = {r.source: r for r in poll(engine, knowledge)}
    assert results["full"].new == 2
    assert (results["summaries"].new, results["summaries"].updated, results["summaries"].unchanged) == (0, 0, 2)
    with Session(engine) as session:
        assert not any(session.execute(select(Article.summary_only)).scalars())


def test_a_page_that_cannot_be_fetched_keeps_the_summary_until_the_next_poll(engine, knowledge, server):
    server.routes["/summary.rss"].etag = '"s1"'
    original = server.routes[PAGE_2]
    server.add(PAGE_2, "gone", status=500, content_type="text/plain")
    name = add(engine, server.url("/summary.rss"), full_text=True)
    [result] = poll(engine, knowledge)
    assert result.ok and result.new == 2
    assert "not fetched" in result.line and "HTTP 500" in result.line
    with Session(engine) as session:
        flags = dict(session.execute(select(Article.url, Article.summary_only)).all())
    assert flags == {server.url(PAGE_1): False, server.url(PAGE_2): True}
    # The poll was incomplete: no validators kept, so the next one is not a 304.
    assert source_state(engine, name).etag is None

    server.routes[PAGE_2] = original
    [result] = poll(engine, knowledge, at=NOW + dt.timedelta(minutes=EVERY))
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    assert server.paths_requested().count(PAGE_1) == 1  # stored in full: not fetched again
    assert source_state(engine, name).etag == '"s1"'


def test_a_listing_fetches_its_article_pages_once(engine, knowledge, server):
    name = add(engine, server.url("/publications/analytical-articles.html"))
    [result] = poll(engine, knowledge)
    assert result.ok and result.kind == "listing" and result.new == 2
    assert source_state(engine, name).kind == "listing"
    with Session(engine) as session:
        stored = list(session.execute(select(Article).order_by(Article.id)).scalars())
    assert [a.url for a in stored] == [server.url(PAGE_1), server.url(PAGE_2)]
    assert all(not a.summary_only and len(a.sections) == 4 for a in stored)
    assert stored[1].published == dt.date(2025, 9, 4)

    [again] = poll(engine, knowledge, at=NOW + dt.timedelta(minutes=EVERY))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert server.paths_requested().count(PAGE_1) == 1


def test_a_listing_without_full_text_stores_its_intros(engine, knowledge, server):
    add(engine, server.url("/publications/analytical-articles.html"), full_text=False)
    [result] = poll(engine, knowledge)
    assert result.new == 2 and PAGE_1 not in server.paths_requested()
    with Session(engine) as session:
        stored = list(session.execute(select(Article).order_by(Article.id)).scalars())
    assert all(a.summary_only and a.author for a in stored)


def test_an_article_page_source(engine, knowledge, server):
    name = add(engine, server.url(PAGE_1))
    [result] = poll(engine, knowledge)
    assert result.ok and result.kind == "page" and result.new == 1
    [stored] = articles(engine)
    assert stored[1] == server.url(PAGE_1) and stored[6] == "Russia Reengages with Armenia (and Azerbaijan)"
    assert source_state(engine, name).kind == "page"


def test_a_json_lines_source(engine, knowledge, server):
    body = (
        '{"title": "Kazakhstan and the Caspian", "author": "Ann Example", "published": "2025-10-01", '
        '"text": "Kazakhstan expanded its Caspian port at Aktau in 2025.\\n\\nThe port handles oil."}\n'
    )
    server.add("/export", body, content_type="application/x-ndjson")
    add(engine, server.url("/export"))
    [result] = poll(engine, knowledge)
    assert result.ok and result.kind == "jsonl" and result.new == 1


def test_a_due_source_is_polled_by_one_worker_only(engine, knowledge, server):
    add(engine, server.url("/feed.rss"))
    assert len(poll(engine, knowledge)) == 1
    assert poll(engine, knowledge) == []  # claimed and rescheduled by the first


def test_poll_sources_polls_now_whatever_the_schedule(engine, knowledge, server):
    name = add(engine, server.url("/feed.rss"))
    poll(engine, knowledge)
    [result] = poll_sources(engine, knowledge, SETTINGS, NOW + dt.timedelta(minutes=1), names=[name])
    assert result.ok and result.unchanged == 2
    with pytest.raises(KeyError):
        poll_sources(engine, knowledge, SETTINGS, NOW, names=["nope"])


def test_pages_over_the_per_poll_limit_wait_for_the_next_poll(engine, knowledge, server, monkeypatch):
    monkeypatch.setattr(poll_module, "MAX_PAGE_FETCHES", 1)
    server.routes["/summary.rss"].etag = '"s1"'
    name = add(engine, server.url("/summary.rss"), full_text=True)
    [result] = poll(engine, knowledge)
    assert result.new == 2 and "1 pages left for the next poll" in result.line
    assert server.paths_requested() == ["/summary.rss", PAGE_1]
    assert source_state(engine, name).etag is None
    [result] = poll(engine, knowledge, at=NOW + dt.timedelta(minutes=EVERY))
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    with Session(engine) as session:
        assert not any(session.execute(select(Article.summary_only)).scalars())
