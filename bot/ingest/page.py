"""Article pages -> ArticleRecord: trafilatura for the main text and the page's metadata.

Owns turning HTML (a whole page, or a feed entry's content fragment) into a record:
the text as paragraphs, then the CACI Analyst structure inside it (date line, `By Name`
byline, lede, BACKGROUND/IMPLICATIONS/CONCLUSIONS, AUTHOR'S BIO, image credits and site
debris) read by the capture parser itself, so a page and a capture of the same article
come out alike and share a fingerprint. What the publisher states in markup (title,
author, date) fills what the text lacks; a date is inferred from the text, and flagged,
only when the page names none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from html.parser import HTMLParser

import trafilatura

from bot.enrich.model import LEDE, TEXT, Section
from bot.ingest.capture import DateInferrer, NoArticleFound, infer_headline, parse_capture
from bot.ingest.records import ArticleRecord
from bot.ingest.text import clean_line, clean_paragraph

# htmldate's extensive search reads dates out of the running text ("on October 8, 2024")
# and would date an analysis by the first event it mentions; markup and meta tags only.
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"}
_BY_PREFIX = re.compile(r"^\s*(?:by|written by)\s+", re.IGNORECASE)
_MAX_AUTHOR_CHARS = 300
# Less main text than this is a navigation or error page, not an analysis.
MIN_PAGE_WORDS = 25


def parse_page(
    html: bytes | str,
    *,
    url: str | None = None,
    infer_date: DateInferrer | None = None,
) -> ArticleRecord:
    """The article on a page. Raises NoArticleFound when the page has no main text."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_recall=True,
        date_extraction_params=_DATE_PARAMS,
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text or len(text.split()) < MIN_PAGE_WORDS:
        raise NoArticleFound("no article text found on the page")
    title = _strip_site_suffix(clean_paragraph(document.title or ""), document.sitename)
    return record_from_paragraphs(
        text.split("\n"),
        title=title or None,
        author=document.author,
        published=_iso_date(document.date),
        url=url,
        category=None,
        infer_date=infer_date,
    )


def record_from_paragraphs(
    paragraphs: Iterable[str],
    *,
    title: str | None = None,
    author: str | None = None,
    published: dt.date | None = None,
    url: str | None = None,
    category: str | None = None,
    summary_only: bool = False,
    infer_date: DateInferrer | None = None,
) -> ArticleRecord:
    """A record from an article's paragraphs plus what the publisher's metadata says.

    The paragraphs are read as a capture is (one paragraph a line), so labels, bylines,
    bios and debris are handled by the one parser that knows them. Metadata given here
    is the publisher's and wins over what was inferred; a byline in the text wins over
    an author field, which on many sites names an account, not the analyst.
    """
    lines = [line for p in paragraphs if (line := clean_line(p))]
    if not lines:
        raise NoArticleFound("no article text")
    try:
        candidates = parse_capture("\n".join(lines))
        # Several "articles" on one page means debris split off (a teaser, a related
        # item); the article is the longest.
        record = max(candidates, key=lambda r: len(r.body_text))
    except NoArticleFound:
        # Too little text for the capture reader's heuristics (a one-line summary): keep it.
        sections = [Section(LEDE, lines[0])]
        if len(lines) > 1:
            sections.append(Section(TEXT, "\n\n".join(lines[1:])))
        record = ArticleRecord(
            title=infer_headline(lines[0]),
            title_inferred=True,
            author=None,
            published=None,
            date_inferred=False,
            sections=tuple(sections),
        )

    given_title = clean_paragraph(title or "")
    if given_title:
        new_title, title_inferred = given_title, False
    else:
        new_title, title_inferred = record.title, record.title_inferred

    new_published, date_inferred = published, False
    if new_published is None and record.published is not None:
        new_published = record.published  # a date line in the text
    if new_published is None and infer_date is not None:
        new_published = infer_date(record.sections)
        date_inferred = new_published is not None

    return dataclasses.replace(
        record,
        title=new_title,
        title_inferred=title_inferred,
        author=record.author or clean_author(author),
        published=new_published,
        date_inferred=date_inferred,
        category=record.category or (clean_paragraph(category) if category else None) or None,
        url=url,
        summary_only=summary_only,
    )


def clean_author(value: str | None) -> str | None:
    """An author field as a name: no "By", no e-mail address, not absurdly long."""
    if not value:
        return None
    name = clean_paragraph(value)
    # RSS <author> is "email (Name)"; feedparser usually splits it, but not always.
    match = re.fullmatch(r"\S+@\S+\s*\((?P<name>[^)]+)\)", name)
    if match:
        name = match["name"].strip()
    name = _BY_PREFIX.sub("", name).strip()
    if not name or "@" in name or len(name) > _MAX_AUTHOR_CHARS:
        return None
    return name


def _iso_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _strip_site_suffix(title: str, sitename: str | None) -> str:
    if not title or not sitename:
        return title
    for separator in (" | ", " - ", " – ", " — "):
        suffix = separator + sitename
        if title.endswith(suffix) and len(title) > len(suffix):
            return title[: -len(suffix)].strip()
    return title


# --- HTML fragments (feed entry content) -------------------------------------------------

_BLOCK_TAGS = frozenset(
    """address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5
    h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul""".split()
)
_SKIPPED_TAGS = frozenset(
    "script style noscript template head iframe svg math form button select textarea object".split()
)


class _Paragraphs(HTMLParser):
    """Text of an HTML fragment, one entry per block; event-driven, so depth costs nothing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._buffer: list[str] = []
        self._skipping: list[str] = []

    def _flush(self) -> None:
        text = clean_line("".join(self._buffer))
        if text:
            self.paragraphs.append(text)
        self._buffer = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            if tag == self._skipping[-1]:
                self._skipping.append(tag)
            return
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping and tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping[-1]:
                self._skipping.pop()
            return
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_paragraphs(fragment: str) -> list[str]:
    """The paragraphs of an HTML fragment, cleaned, in order (tags dropped, blocks split)."""
    parser = _Paragraphs()
    parser.feed(fragment)
    parser.close()
    return parser.paragraphs
