"""RSS and Atom feeds -> ArticleRecord, via feedparser.

Owns reading a feed document: one record per entry, its title, link, author, date and
category as the feed states them, and its text from the entry's full content when the
feed carries it (RSS `content:encoded`, Atom `content`). An entry with only a summary
becomes a record flagged `summary_only=True`; fetching its page for the full text is
the poller's decision (`bot.sources.poll`), not this module's: parsing does no I/O.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from typing import Any

import feedparser

from bot.ingest.capture import DateInferrer, NoArticleFound
from bot.ingest.page import clean_author, html_paragraphs, record_from_paragraphs
from bot.ingest.records import ArticleRecord
from bot.ingest.text import clean_paragraph

log = logging.getLogger(__name__)

_HTML_TYPES = {"text/html", "application/xhtml+xml", "html", "xhtml"}


class NotAFeed(ValueError):
    pass


@dataclass(frozen=True)
class ParsedFeed:
    kind: str  # "rss" or "atom"
    title: str | None
    records: list[ArticleRecord]


def parse_feed(
    data: bytes,
    *,
    base_url: str | None = None,
    infer_date: DateInferrer | None = None,
) -> ParsedFeed:
    """Every usable entry of an RSS or Atom document. Raises NotAFeed for anything else."""
    # Always a stream: feedparser reads a str or bytes argument as a URL or a file name.
    headers = {"content-location": base_url} if base_url else None
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=headers, sanitize_html=True, resolve_relative_uris=True
    )
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    kind = "atom" if version.startswith("atom") else "rss"
    records = []
    for entry in parsed.entries:
        try:
            records.append(record_from_entry(entry, infer_date=infer_date))
        except NoArticleFound:
            log.info("feed entry without text skipped: %s", entry.get("link") or entry.get("id"))
    feed_title = clean_paragraph(parsed.feed.get("title", "")) or None
    return ParsedFeed(kind, feed_title, records)


def record_from_entry(entry: Any, *, infer_date: DateInferrer | None = None) -> ArticleRecord:
    content = _best_content(entry)
    summary_only = content is None
    if content is None:
        content = _as_paragraphs(entry.get("summary_detail") or {"value": entry.get("summary", "")})
    if not content:
        raise NoArticleFound("feed entry without text")
    link = entry.get("link")
    url = link if isinstance(link, str) and link.startswith(("http://", "https://")) else None
    tags = entry.get("tags") or []
    category = next((t.get("term") for t in tags if t.get("term")), None)
    return record_from_paragraphs(
        content,
        title=_text_of(entry.get("title_detail")) or entry.get("title"),
        author=_author(entry),
        published=_entry_date(entry),
        url=url,
        category=category,
        summary_only=summary_only,
        infer_date=infer_date,
    )


def _best_content(entry: Any) -> list[str] | None:
    """The longest full-content block, as paragraphs; None when the feed gave none."""
    best: list[str] | None = None
    for item in entry.get("content") or []:
        paragraphs = _as_paragraphs(item)
        if paragraphs and (best is None or sum(map(len, paragraphs)) > sum(map(len, best))):
            best = paragraphs
    return best


def _as_paragraphs(detail: Any) -> list[str]:
    value = detail.get("value") or ""
    if not value.strip():
        return []
    if (detail.get("type") or "text/html").lower() in _HTML_TYPES or "<" in value:
        return html_paragraphs(value)
    return [p for p in (clean_paragraph(chunk) for chunk in value.split("\n\n")) if p]


def _text_of(detail: Any) -> str | None:
    if not detail or not detail.get("value"):
        return None
    if (detail.get("type") or "").lower() in _HTML_TYPES:
        return " ".join(html_paragraphs(detail["value"])) or None
    return clean_paragraph(detail["value"]) or None


def _author(entry: Any) -> str | None:
    detail = entry.get("author_detail") or {}
    return clean_author(detail.get("name") or entry.get("author"))


def _entry_date(entry: Any) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
            except (ValueError, AttributeError):
                continue
    return None
