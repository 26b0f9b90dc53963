"""JSON Lines: the generic import format, one article object per line.

Fields (the same as `briefbot articles --json` prints): `title`, `title_inferred`,
`author`, `published` (ISO date), `date_inferred`, `lede`, `sections` (a list of
`{"name", "text"}`, or of names when `text` comes separately), `author_bio`, `category`,
`url`. Only text is required: `text` (paragraphs separated by blank lines) or
`sections`. A missing title or date is inferred and flagged, as for captures.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.enrich.model import LEDE, TEXT, Section
from bot.ingest.capture import MIN_WORDS, DateInferrer, NoArticleFound, infer_headline
from bot.ingest.records import ArticleRecord
from bot.ingest.text import clean_paragraph


class BadRecord(ValueError):
    pass


def parse_jsonl(text: str, *, infer_date: DateInferrer | None = None) -> list[ArticleRecord]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRecord(f"line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise BadRecord(f"line {number}: expected an object, got {type(obj).__name__}")
        try:
            records.append(record_from_mapping(obj, infer_date=infer_date))
        except BadRecord as exc:
            raise BadRecord(f"line {number}: {exc}") from exc
    if not records:
        raise NoArticleFound("no article found")
    return records


def _paragraphs(text: str) -> str:
    parts = [clean_paragraph(p) for p in text.replace("\r\n", "\n").split("\n\n")]
    return "\n\n".join(p for p in parts if p)


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{key!r} must be a string")
    value = clean_paragraph(value)
    return value or None


def record_from_mapping(obj: dict[str, Any], *, infer_date: DateInferrer | None = None) -> ArticleRecord:
    sections: list[Section] = []
    raw_sections = obj.get("sections")
    if raw_sections is not None:
        if not isinstance(raw_sections, list):
            raise BadRecord("'sections' must be a list")
        for item in raw_sections:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise BadRecord("each section needs a 'text' string")
            name = item.get("name") or TEXT
            if not isinstance(name, str):
                raise BadRecord("a section 'name' must be a string")
            text = _paragraphs(item["text"])
            if text:
                sections.append(Section(name.strip().title() if name.isupper() else name.strip(), text))
    lede = _optional_str(obj, "lede")
    if lede and not any(s.name == LEDE for s in sections):
        sections.insert(0, Section(LEDE, lede))
    body = obj.get("text", obj.get("body"))
    if body is not None and not sections:
        if not isinstance(body, str):
            raise BadRecord("'text' must be a string")
        paragraphs = [p for p in _paragraphs(body).split("\n\n") if p]
        if paragraphs:
            sections.append(Section(LEDE, paragraphs[0]))
            if len(paragraphs) > 1:
                sections.append(Section(TEXT, "\n\n".join(paragraphs[1:])))
    if not sections:
        raise BadRecord("no text: give 'text' or 'sections'")
    if sum(len(s.text.split()) for s in sections) < MIN_WORDS:
        raise BadRecord("too little text to be an article")
    if sections[0].name != LEDE and not any(s.name == LEDE for s in sections):
        first = sections[0]
        paragraphs = first.text.split("\n\n")
        rest = "\n\n".join(paragraphs[1:])
        sections[0:1] = [Section(LEDE, paragraphs[0])] + ([Section(first.name, rest)] if rest else [])

    title = _optional_str(obj, "title")
    title_inferred = bool(obj.get("title_inferred")) if title else True
    if not title:
        title = infer_headline(sections[0].text)

    published = None
    date_inferred = bool(obj.get("date_inferred", False))
    raw_date = obj.get("published")
    if raw_date not in (None, ""):
        if not isinstance(raw_date, str):
            raise BadRecord("'published' must be an ISO date string")
        try:
            published = dt.date.fromisoformat(raw_date[:10])
        except ValueError as exc:
            raise BadRecord(f"'published' is not an ISO date: {raw_date!r}") from exc
    elif infer_date is not None:
        published = infer_date(sections)
        date_inferred = published is not None

    url = _optional_str(obj, "url")
    if url and not url.startswith(("http://", "https://")):
        raise BadRecord(f"'url' must be http(s): {url!r}")
    return ArticleRecord(
        title=title,
        title_inferred=title_inferred,
        author=_optional_str(obj, "author"),
        published=published,
        date_inferred=date_inferred if published else False,
        sections=tuple(sections),
        author_bio=_optional_str(obj, "author_bio"),
        category=_optional_str(obj, "category"),
        url=url,
        summary_only=bool(obj.get("summary_only", False)),
    )
