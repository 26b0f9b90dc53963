"""Polling live sources: fetch, detect, parse, store; schedule the next poll.

Owns one poll of a source and the schedule around it. A poll fetches the source with
its stored validators (a 304 touches only the poll times), detects its kind, parses it
with the parser of that kind, fetches an entry's page for the full text where the feed
or listing gives only a summary and the source allows it, and stores the records
through `store_records` in one transaction with the source's new state, so a failure
anywhere leaves the articles as they were. A failure counts against the source: its
next poll backs off exponentially (with jitter, capped at a day) and after
UNHEALTHY_AFTER failures in a row it is marked unhealthy until a poll succeeds again.

Network I/O never happens inside a database transaction: the store transaction opens
once everything has been fetched and parsed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, or_, select, update
from sqlmodel import Session

from bot.config import Settings
from bot.enrich import Knowledge, infer_as_of_date
from bot.ingest.capture import NoArticleFound
from bot.ingest.feed import NotAFeed, parse_feed
from bot.ingest.jsonl import BadRecord
from bot.ingest.listing import item_record, parse_listing
from bot.ingest.loader import parse_text
from bot.ingest.page import parse_page
from bot.ingest.persist import StoreCounts, store_records
from bot.ingest.records import ArticleRecord
from bot.ingest.text import UndecodableInput, decode_bytes
from bot.sources.detect import UnknownKind, detect_kind
from bot.sources.fetch import (
    HTML_TYPES,
    PAGE_ACCEPT_HEADER,
    Fetched,
    FetchError,
    fetch,
    new_client,
)
from bot.sources.service import UNHEALTHY_AFTER, as_utc
from bot.store.db import session_scope
from bot.store.models import Article, Source

log = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(hours=24)
JITTER = 0.2
# Pages fetched for full text in one poll; the rest wait for the next poll (the poll is
# then "incomplete" and keeps no validators, so the next one is not answered with a 304).
MAX_PAGE_FETCHES = 20
PAGE_FETCH_SECONDS = 120
MAX_ERROR_CHARS = 1000
# Errors an operator can act on, shown as they are; anything else is shown with its type.
_EXPECTED = (FetchError, UnknownKind, NotAFeed, NoArticleFound, BadRecord, UndecodableInput)


@dataclass
class PollResult:
    source: str
    ok: bool = True
    not_modified: bool = False
    kind: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    consecutive_failures: int = 0
    healthy: bool = True
    next_poll_at: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        if not self.ok:
            tail = f"failure {self.consecutive_failures}"
            if self.next_poll_at is not None:
                tail += f", next try {self.next_poll_at:%Y-%m-%d %H:%M} UTC"
            if not self.healthy:
                tail += ", UNHEALTHY"
            return f"{self.source}: failed: {self.error} ({tail})"
        if self.not_modified:
            return f"{self.source}: not modified"
        line = (
            f"{self.source} [{self.kind}]: {self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.notes:
            line += " (" + "; ".join(self.notes) + ")"
        return line


@dataclass(frozen=True)
class _Snapshot:
    """What a poll needs of its source, read before any network I/O."""

    id: int
    name: str
    url: str
    every_minutes: int
    full_text: bool
    etag: str | None
    last_modified: str | None


@dataclass
class _Gathered:
    kind: str
    records: list[ArticleRecord] = field(default_factory=list)
    complete: bool = True
    known: int = 0  # items already stored in full, not fetched again
    notes: list[str] = field(default_factory=list)


# --- schedule ---------------------------------------------------------------------------


def backoff_delay(
    every_minutes: int, failures: int, rng: random.Random | None = None
) -> dt.timedelta:
    """interval * 2^failures, +-20 % jitter so failing sources do not retry in step, <= 24 h."""
    rng = rng or random
    base = every_minutes * 60.0 * 2 ** min(max(failures, 0), 20)
    seconds = base * rng.uniform(1 - JITTER, 1 + JITTER)
    return dt.timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds()))


def _utc(now: dt.datetime | None) -> dt.datetime:
    return as_utc(now) or dt.datetime.now(dt.UTC)


def _due_ids(engine: Engine, now: dt.datetime) -> list[int]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(Source.id)
                .where(
                    Source.url.is_not(None),
                    Source.poll_every_minutes.is_not(None),
                    or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
                )
                .order_by(Source.next_poll_at, Source.id)
            ).scalars()
        )


def _claim(engine: Engine, source_id: int, every_minutes: int, now: dt.datetime, *, force: bool) -> bool:
    """Move the source's next poll on before polling it, atomically.

    Two schedulers (two bot processes, or the bot and `briefbot source poll`) then never
    poll one source twice for one due time; a poll that dies half-way is retried at the
    next interval, not in a loop.
    """
    condition = [Source.id == source_id]
    if not force:
        condition.append(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
    with session_scope(engine) as session:
        result = session.execute(
            update(Source)
            .where(*condition)
            .values(next_poll_at=now + dt.timedelta(minutes=every_minutes))
        )
        return result.rowcount == 1


# --- entry points -----------------------------------------------------------------------


def poll_due_sources(
    engine: Engine,
    knowledge: Knowledge,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    client: httpx.Client | None = None,
    rng: random.Random | None = None,
) -> list[PollResult]:
    """Poll every source whose next poll is due at `now` (sync: run it in a worker thread)."""
    now = _utc(now)
    return _poll_ids(engine, knowledge, settings, _due_ids(engine, now), now, client, rng, force=False)


def poll_sources(
    engine: Engine,
    knowledge: Knowledge,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    names: Sequence[str] | None = None,
    client: httpx.Client | None = None,
    rng: random.Random | None = None,
) -> list[PollResult]:
    """Poll the named live sources (all when `names` is empty) now, whatever their schedule.

    Raises KeyError naming a source that does not exist.
    """
    now = _utc(now)
    with Session(engine) as session:
        query = select(Source.id, Source.name).where(Source.url.is_not(None)).order_by(Source.name)
        rows = session.execute(query).all()
    by_name = {name: source_id for source_id, name in rows}
    if names:
        missing = [n for n in names if n not in by_name]
        if missing:
            raise KeyError(", ".join(missing))
        ids = [by_name[n] for n in names]
    else:
        ids = [source_id for source_id, _ in rows]
    return _poll_ids(engine, knowledge, settings, ids, now, client, rng, force=True)


def _poll_ids(
    engine: Engine,
    knowledge: Knowledge,
    settings: Settings,
    ids: Iterable[int],
    now: dt.datetime,
    client: httpx.Client | None,
    rng: random.Random | None,
    *,
    force: bool,
) -> list[PollResult]:
    own_client = client is None
    client = client or new_client()
    results = []
    try:
        for source_id in ids:
            snapshot = _snapshot(engine, source_id)
            if snapshot is None:
                continue
            if not _claim(engine, source_id, snapshot.every_minutes, now, force=force):
                continue  # another worker took it
            results.append(_poll_one(engine, knowledge, settings, snapshot, now, client, rng))
    finally:
        if own_client:
            client.close()
    return results


def _snapshot(engine: Engine, source_id: int) -> _Snapshot | None:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        if source is None or not source.url:
            return None
        return _Snapshot(
            id=source.id,
            name=source.name,
            url=source.url,
            every_minutes=source.poll_every_minutes or 60,
            full_text=source.fetch_full_text,
            etag=source.etag,
            last_modified=source.last_modified,
        )


# --- one poll ---------------------------------------------------------------------------


def _poll_one(
    engine: Engine,
    knowledge: Knowledge,
    settings: Settings,
    snapshot: _Snapshot,
    now: dt.datetime,
    client: httpx.Client,
    rng: random.Random | None = None,
) -> PollResult:
    result = PollResult(source=snapshot.name)
    try:
        fetched = fetch(
            snapshot.url,
            settings=settings,
            etag=snapshot.etag,
            last_modified=snapshot.last_modified,
            client=client,
        )
        if fetched.not_modified:
            _store_not_modified(engine, snapshot, fetched, now, result)
            return result
        gathered = _gather(engine, settings, snapshot, fetched, client)
        _store(engine, knowledge, snapshot, fetched, gathered, now, result)
    except Exception as exc:  # noqa: BLE001 - any failure is the source's, counted and shown
        if isinstance(exc, _EXPECTED):
            message = str(exc)
        else:
            log.exception("polling %s failed", snapshot.name)
            message = f"{type(exc).__name__}: {exc}"
        _store_failure(engine, snapshot, message, now, rng, result)
    return result


def _store_not_modified(
    engine: Engine, snapshot: _Snapshot, fetched: Fetched, now: dt.datetime, result: PollResult
) -> None:
    with session_scope(engine) as session:
        source = _source_or_gone(session, snapshot)
        _mark_success(source, now, snapshot.every_minutes)
        # A 304 may carry fresh validators; without them the stored ones stay.
        if fetched.etag:
            source.etag = fetched.etag
        if fetched.last_modified:
            source.last_modified = fetched.last_modified
        result.kind = source.kind
    result.not_modified = True
    result.next_poll_at = as_utc(source.next_poll_at)


def _store(
    engine: Engine,
    knowledge: Knowledge,
    snapshot: _Snapshot,
    fetched: Fetched,
    gathered: _Gathered,
    now: dt.datetime,
    result: PollResult,
) -> None:
    with session_scope(engine) as session:
        records, kept_back = _without_downgrades(session, gathered.records)
        counts = (
            store_records(session, records, knowledge, source_id=snapshot.id)
            if records
            else StoreCounts()
        )
        source = _source_or_gone(session, snapshot)
        _mark_success(source, now, snapshot.every_minutes)
        source.kind = gathered.kind
        # An incomplete poll keeps no validators: the next poll must see the whole
        # document again to fetch what this one could not.
        source.etag = fetched.etag if gathered.complete else None
        source.last_modified = fetched.last_modified if gathered.complete else None
    result.kind = gathered.kind
    result.new, result.updated = counts.new, counts.updated
    result.unchanged = counts.unchanged + kept_back + gathered.known
    result.notes = gathered.notes
    result.next_poll_at = as_utc(source.next_poll_at)
    log.info("polled %s: %s", snapshot.name, result.line)


def _store_failure(
    engine: Engine,
    snapshot: _Snapshot,
    message: str,
    now: dt.datetime,
    rng: random.Random | None,
    result: PollResult,
) -> None:
    message = message[:MAX_ERROR_CHARS]
    result.ok = False
    result.error = message
    try:
        with session_scope(engine) as session:
            source = session.get(Source, snapshot.id)
            if source is None:
                return
            source.consecutive_failures = (source.consecutive_failures or 0) + 1
            source.last_error = message
            source.last_polled_at = now
            source.next_poll_at = now + backoff_delay(
                snapshot.every_minutes, source.consecutive_failures, rng
            )
            source.healthy = source.consecutive_failures < UNHEALTHY_AFTER
            result.consecutive_failures = source.consecutive_failures
            result.healthy = source.healthy
            result.next_poll_at = as_utc(source.next_poll_at)
    except Exception:  # noqa: BLE001 - the database itself failing: logged, the claim stands
        log.exception("could not record the failure of %s", snapshot.name)
    log.warning("polling %s failed: %s", snapshot.name, message)


class SourceGone(Exception):
    pass


def _source_or_gone(session: Session, snapshot: _Snapshot) -> Source:
    source = session.get(Source, snapshot.id)
    if source is None:
        raise SourceGone(f"source {snapshot.name} was removed during the poll")
    return source


def _mark_success(source: Source, now: dt.datetime, every_minutes: int) -> None:
    source.last_polled_at = now
    source.last_success_at = now
    source.next_poll_at = now + dt.timedelta(minutes=every_minutes)
    source.consecutive_failures = 0
    source.last_error = None
    source.healthy = True


def _without_downgrades(
    session: Session, records: list[ArticleRecord]
) -> tuple[list[ArticleRecord], int]:
    """Drop summary-only records of articles stored with their full text.

    A summary shares its fingerprint with the full article (it is the lede), so storing
    it would replace the full text with the summary.
    """
    kept, dropped = [], 0
    for record in records:
        if record.summary_only:
            existing = None
            if record.url:
                existing = session.execute(
                    select(Article.summary_only).where(Article.url == record.url)
                ).first()
            if existing is None:
                existing = session.execute(
                    select(Article.summary_only).where(Article.fingerprint == record.fingerprint)
                ).first()
            if existing is not None and not existing[0]:
                dropped += 1
                continue
        kept.append(record)
    return kept, dropped


# --- parsing by kind --------------------------------------------------------------------


def _text(fetched: Fetched) -> str:
    # UTF-8 first: servers label UTF-8 text "iso-8859-1" far more often than they send
    # Latin-1 that happens to be valid UTF-8. The declared charset is the fallback.
    try:
        return decode_bytes(fetched.body)
    except UndecodableInput:
        if not fetched.charset:
            raise
    try:
        return fetched.body.decode(fetched.charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise UndecodableInput(f"not valid {fetched.charset} text") from exc


def _known_urls(engine: Engine, urls: Iterable[str]) -> dict[str, bool]:
    """Stored article URLs among `urls`, each with its summary_only flag."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    with Session(engine) as session:
        rows = session.execute(
            select(Article.url, Article.summary_only).where(Article.url.in_(wanted))
        ).all()
    return {url: summary_only for url, summary_only in rows}


def _gather(
    engine: Engine, settings: Settings, snapshot: _Snapshot, fetched: Fetched, client: httpx.Client
) -> _Gathered:
    kind = detect_kind(fetched.content_type, fetched.body, fetched.final_url)
    gathered = _Gathered(kind)
    if kind == "capture":
        gathered.records = parse_text(_text(fetched), jsonl=False)
    elif kind == "jsonl":
        gathered.records = parse_text(_text(fetched), jsonl=True)
    elif kind == "page":
        gathered.records = [parse_page(fetched.body, url=snapshot.url, infer_date=infer_as_of_date)]
    elif kind in ("rss", "atom"):
        feed = parse_feed(fetched.body, base_url=fetched.final_url, infer_date=infer_as_of_date)
        gathered.kind = feed.kind
        _full_texts(engine, settings, snapshot, client, feed.records, gathered)
    elif kind == "listing":
        items = parse_listing(fetched.body, base_url=fetched.final_url)
        if not items:
            raise NoArticleFound("no articles found on the listing page")
        records = []
        for item in items:
            record = item_record(item, infer_date=infer_as_of_date)
            if record is None:
                # The listing shows no text for it: its page is the only text there is.
                record = ArticleRecord(
                    title=item.title or item.url,
                    title_inferred=item.title is None,
                    author=None,
                    published=item.published,
                    date_inferred=False,
                    sections=(),
                    url=item.url,
                    summary_only=True,
                )
            records.append(record)
        _full_texts(engine, settings, snapshot, client, records, gathered)
    else:  # pragma: no cover - detect_kind returns only the kinds above
        raise UnknownKind(kind)
    return gathered


def _full_texts(
    engine: Engine,
    settings: Settings,
    snapshot: _Snapshot,
    client: httpx.Client,
    records: list[ArticleRecord],
    gathered: _Gathered,
) -> None:
    """Feed or listing records, each summary replaced by its page's full text if allowed."""
    known = _known_urls(engine, (r.url for r in records if r.summary_only and r.url))
    budget = MAX_PAGE_FETCHES
    deferred = 0
    # One slow site must not hold the scheduler's worker for long: past this, the
    # remaining pages wait for the next poll like those over the count.
    stop_at = time.monotonic() + max(PAGE_FETCH_SECONDS, 3 * settings.fetch_timeout_seconds)
    for record in records:
        if not record.summary_only or not record.url:
            if record.sections:
                gathered.records.append(record)
            continue
        if known.get(record.url) is False:
            gathered.known += 1  # stored in full already; a summary adds nothing
            continue
        if not snapshot.full_text:
            _keep_summary(record, gathered)
            continue
        if budget <= 0 or time.monotonic() > stop_at:
            deferred += 1
            gathered.complete = False
            _keep_summary(record, gathered)
            continue
        budget -= 1
        try:
            page = fetch(
                record.url,
                settings=settings,
                client=client,
                accept=PAGE_ACCEPT_HEADER,
                accepted_types=HTML_TYPES,
            )
            full = parse_page(page.body, url=record.url, infer_date=infer_as_of_date)
        except Exception as exc:  # noqa: BLE001 - one bad page must not fail the whole feed
            if not isinstance(exc, _EXPECTED):
                log.exception("full text of %s", record.url)
            gathered.complete = False
            gathered.notes.append(f"full text of {record.url} not fetched: {exc}")
            _keep_summary(record, gathered)
            continue
        gathered.records.append(_with_listed_facts(full, record))
    if deferred:
        gathered.notes.append(
            f"{deferred} pages left for the next poll "
            f"(at most {MAX_PAGE_FETCHES} pages or {PAGE_FETCH_SECONDS} s per poll)"
        )


def _keep_summary(record: ArticleRecord, gathered: _Gathered) -> None:
    if record.sections:
        gathered.records.append(record)
    else:
        gathered.complete = False
        gathered.notes.append(f"no text for {record.url}")


def _with_listed_facts(page: ArticleRecord, listed: ArticleRecord) -> ArticleRecord:
    """A page's record with what the feed or listing stated about it.

    The feed's title and date are the publisher's own and win over what was read or
    inferred from the page; the page's byline and category win over the feed's fields.
    """
    title, title_inferred = page.title, page.title_inferred
    if not listed.title_inferred and listed.title:
        title, title_inferred = listed.title, False
    published, date_inferred = page.published, page.date_inferred
    if listed.published is not None and not listed.date_inferred:
        published, date_inferred = listed.published, False
    return dataclasses.replace(
        page,
        title=title,
        title_inferred=title_inferred,
        published=published,
        date_inferred=date_inferred,
        author=page.author or listed.author,
        category=page.category or listed.category,
        url=listed.url,
        summary_only=False,
    )
