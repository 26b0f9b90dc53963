"""Live sources as the operator manages them: add, list, remove, describe, health.

Owns the domain functions behind `briefbot source ...` and the Telegram admin commands:
validating what an operator types (URL, name, interval), the one-line description of a
source, and the health summary for /stats. No network here beyond resolving the host
of a URL being added; fetching and polling live in `bot.sources.poll`.

Times are UTC. SQLite hands back naive datetimes, PostgreSQL aware ones; `as_utc`
makes them comparable.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update
from sqlmodel import Session

from bot.config import Settings
from bot.sources.fetch import FetchError, check_url
from bot.store.models import Article, Source

DEFAULT_EVERY_MINUTES = 60
MIN_EVERY_MINUTES = 5  # politeness: nobody's feed needs polling more often
MAX_EVERY_MINUTES = 7 * 24 * 60
UNHEALTHY_AFTER = 5  # consecutive failures
KIND_UNKNOWN = "unknown"  # until the first successful poll detects it


class SourceError(ValueError):
    """An operator's request that cannot be done, with the reason to show them."""


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def live_sources_query():  # noqa: ANN201 - a SQLAlchemy Select
    return select(Source).where(Source.url.is_not(None)).order_by(Source.name)


def list_sources(session: Session) -> list[Source]:
    """Every live (URL) source, by name; files ingested by `briefbot ingest` are not listed."""
    return list(session.execute(live_sources_query()).scalars())


def get_source(session: Session, name: str) -> Source | None:
    return session.execute(
        select(Source).where(Source.name == name.strip(), Source.url.is_not(None))
    ).scalars().first()


def _name_from_host(host: str) -> str:
    host = host.lower().removeprefix("www.")
    return re.sub(r"[^a-z0-9.\-]+", "-", host).strip("-.") or "source"


def _unique_name(session: Session, base: str) -> str:
    taken = set(
        session.execute(select(Source.name).where(Source.name.like(f"{base}%"))).scalars()
    )
    if base not in taken:
        return base
    for number in range(2, 1000):
        candidate = f"{base}-{number}"
        if candidate not in taken:
            return candidate
    raise SourceError(f"too many sources named after {base}")


def add_source(
    session: Session,
    url: str,
    *,
    name: str | None = None,
    every_minutes: int | None = None,
    full_text: bool | None = None,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Source:
    """A new live source, due for its first poll now. Raises SourceError.

    `full_text` (default on): fetch an entry's page when a feed or listing gives only a
    summary. The kind is detected at the first poll.
    """
    try:
        parsed = check_url(url, allow_private=settings.allow_private_sources)
    except FetchError as exc:
        raise SourceError(str(exc)) from exc
    url = str(parsed)
    existing = session.execute(select(Source).where(Source.url == url)).scalars().first()
    if existing is not None:
        raise SourceError(f"{url} is already a source: {existing.name}")

    if every_minutes is None:
        every_minutes = DEFAULT_EVERY_MINUTES
    if not MIN_EVERY_MINUTES <= every_minutes <= MAX_EVERY_MINUTES:
        raise SourceError(
            f"the interval must be between {MIN_EVERY_MINUTES} and {MAX_EVERY_MINUTES} minutes"
        )

    if name is not None:
        name = " ".join(name.split())
        if not name:
            raise SourceError("the name is empty")
        if len(name) > 200:
            raise SourceError("the name is longer than 200 characters")
        clash = session.execute(select(Source).where(Source.name == name)).scalars().first()
        if clash is not None:
            raise SourceError(f"a source named {name!r} exists already")
    else:
        name = _unique_name(session, _name_from_host(parsed.host))

    source = Source(
        name=name,
        url=url,
        kind=KIND_UNKNOWN,
        poll_every_minutes=every_minutes,
        fetch_full_text=True if full_text is None else bool(full_text),
        next_poll_at=as_utc(now) or dt.datetime.now(dt.UTC),
        consecutive_failures=0,
        healthy=True,
    )
    session.add(source)
    session.flush()
    return source


def remove_source(session: Session, name: str) -> bool:
    """Remove a live source; its articles stay in the corpus, no longer filed under it."""
    source = get_source(session, name)
    if source is None:
        return False
    session.execute(update(Article).where(Article.source_id == source.id).values(source_id=None))
    session.delete(source)
    session.flush()
    return True


def _ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return "never"
    return _span(now - moment) + " ago" if moment <= now else "in " + _span(moment - now)


def _until(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return "not scheduled"
    if moment <= now:
        return "due now"
    return "in " + _span(moment - now)


def _span(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"
    return f"{seconds // 86400} d"


def _every(minutes: int | None) -> str:
    if not minutes:
        return "not polled"
    if minutes % 1440 == 0:
        return f"every {minutes // 1440} d"
    if minutes % 60 == 0:
        return f"every {minutes // 60} h"
    return f"every {minutes} min"


def format_source_line(source: Source, now: dt.datetime) -> str:
    """One plain-text line: name, kind, URL, interval, polls, failures, health, next poll."""
    now = as_utc(now)
    if source.healthy:
        health = "healthy"
        if source.consecutive_failures:
            health += f" (last error: {_short(source.last_error)})"
    else:
        health = f"UNHEALTHY: {_short(source.last_error)}"
    return (
        f"{source.name} [{source.kind}] {source.url} | {_every(source.poll_every_minutes)}"
        f" | full text {'on' if source.fetch_full_text else 'off'}"
        f" | last poll {_ago(as_utc(source.last_polled_at), now)}"
        f" | last success {_ago(as_utc(source.last_success_at), now)}"
        f" | failures {source.consecutive_failures}"
        f" | {health}"
        f" | next poll {_until(as_utc(source.next_poll_at), now)}"
    )


def _short(text: str | None, limit: int = 160) -> str:
    if not text:
        return "unknown error"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def source_health_summary(session: Session) -> dict:
    """For an admin's /stats: counts, and the sources that need attention."""
    sources = list_sources(session)
    unhealthy = [s for s in sources if not s.healthy]
    failing = [s for s in sources if s.healthy and s.consecutive_failures]
    next_polls = [as_utc(s.next_poll_at) for s in sources if s.next_poll_at is not None]
    successes = [as_utc(s.last_success_at) for s in sources if s.last_success_at is not None]

    def brief(source: Source) -> dict:
        return {
            "name": source.name,
            "url": source.url,
            "kind": source.kind,
            "consecutive_failures": source.consecutive_failures,
            "last_error": source.last_error,
            "last_success_at": as_utc(source.last_success_at),
            "next_poll_at": as_utc(source.next_poll_at),
        }

    return {
        "total": len(sources),
        "healthy": len(sources) - len(unhealthy),
        "unhealthy": len(unhealthy),
        "failing": len(failing),
        "unhealthy_sources": [brief(s) for s in unhealthy],
        "failing_sources": [brief(s) for s in failing],
        "last_success_at": max(successes) if successes else None,
        "next_poll_at": min(next_polls) if next_polls else None,
    }
