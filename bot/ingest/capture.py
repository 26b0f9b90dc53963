"""Parser for plain-text captures of Central Asia-Caucasus Analyst pages.

Owns the capture format and its variants: articles separated by "Published in ..." lines,
an optional date line and title, a `By Name` byline (or the older
`By Name (M/D/YYYY issue of the CACI Analyst)`), a lede, labelled sections whose label
may stand alone on its line, an author's bio, and the debris a capture drags along
(image credits, captions, spam-guard text, the site footer). Short field reports without
sections, with their date line after the text, are read too.

What the capture lost is inferred only where the text supports it and is flagged:
a headline quoted from the lede's first sentence, an as-of date from the latest date
the text itself names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.enrich.model import BACKGROUND, CONCLUSIONS, IMPLICATIONS, LEDE, TEXT, Section
from bot.ingest.records import ArticleRecord
from bot.ingest.text import clean_line, normalise_newlines, trim_words

DateInferrer = Callable[[Sequence[Section]], dt.date | None]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_DATE_LINE = re.compile(
    r"^(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})"
    r"(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_DATE_LINE_US = re.compile(
    r"^(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
    r"(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})"
    r"(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_OLD_ISSUE = re.compile(
    r"\(\s*(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})\s+issue\s+of\s+the\s+CACI\s+Analyst\s*\)",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^By\s+(?P<rest>.+)$")
_NAME_CONNECTORS = {
    "and",
    "&",
    "de",
    "del",
    "der",
    "van",
    "von",
    "al",
    "el",
    "bin",
    "ibn",
    "e",
    "da",
    "di",
    "du",
    "la",
    "le",
    "ul",
    "y",
}
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.\-]*|[A-Z]\.)[,]?$")
_SEPARATOR = re.compile(r"^Published in\b(?P<category>.{0,80})$")
_LABEL = re.compile(
    r"^(?P<label>BACKGROUND|IMPLICATIONS|CONCLUSIONS?|AUTHOR['’]?S?\s+BIO(?:GRAPHY)?)\s*:\s*",
    re.IGNORECASE,
)
_CANONICAL_LABELS = {
    "BACKGROUND": BACKGROUND,
    "IMPLICATIONS": IMPLICATIONS,
    "CONCLUSIONS": CONCLUSIONS,
    "CONCLUSION": CONCLUSIONS,
}
_CREDIT = re.compile(r"^(?:Image\s+|Photo\s+)?(?:Credit|Source|Photo)s?\s*:", re.IGNORECASE)
_SPAM_GUARD = re.compile(
    r"(?:\bE-?mail\s*[,:]?\s*)?This (?:e-?mail )?address is being protected from spambots\.?"
    r"(?:\s*You need JavaScript enabled to view it\.?)?",
    re.IGNORECASE,
)
_FOOTER_START = re.compile(r"^(?:Visit also|Newsletter)$", re.IGNORECASE)
_FOOTER_LINES = re.compile(
    r"^(?:Newsletter|Visit also|Sign up for upcoming events.*|"
    r"The Central Asia-Caucasus Analyst is a biweekly publication.*)$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…:;”\"')\]]$")

HEADLINE_CHARS = 110
MIN_WORDS = 5
_WORDS = re.compile(r"\w+")


class NoArticleFound(ValueError):
    pass


def parse_date_line(line: str) -> dt.date | None:
    for pattern in (_DATE_LINE, _DATE_LINE_US):
        match = pattern.match(line)
        if match:
            month = _MONTHS.get(match["month"].lower())
            if month is None:
                return None
            try:
                return dt.date(int(match["year"]), month, int(match["day"]))
            except ValueError:
                return None
    return None


def parse_byline(line: str) -> tuple[str, dt.date | None] | None:
    """`By Name` or `By Name (M/D/YYYY issue of the CACI Analyst)` -> (name, date)."""
    match = _BYLINE.match(line)
    if not match or len(line) > 160:
        return None
    rest = match["rest"]
    issue_date = None
    issue = _OLD_ISSUE.search(rest)
    if issue:
        try:
            issue_date = dt.date(int(issue["year"]), int(issue["month"]), int(issue["day"]))
        except ValueError:
            issue_date = None
        rest = (rest[: issue.start()] + rest[issue.end() :]).strip()
    name = rest.strip().rstrip(",;")
    words = name.replace(",", " , ").split()
    if not words or len(words) > 12:
        return None
    for word in words:
        if word == "," or word.lower() in _NAME_CONNECTORS:
            continue
        if not _NAME_WORD.match(word):
            return None
    if not _NAME_WORD.match(words[0]):
        return None
    return name, issue_date


@dataclass
class _Draft:
    date: dt.date | None = None
    title: str | None = None
    author: str | None = None
    lede: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    bio: list[str] = field(default_factory=list)
    in_bio: bool = False
    seen_byline: bool = False
    header: list[str] = field(default_factory=list)
    category: str | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.lede or self.sections)

    def add_text(self, paragraph: str) -> None:
        if self.in_bio:
            self.bio.append(paragraph)
        elif self.sections:
            self.sections[-1][1].append(paragraph)
        else:
            self.lede.append(paragraph)


def _blocks(text: str) -> list[str]:
    """Paragraph blocks: lines cleaned, blank-line separated, each line its own block.

    The capture puts one paragraph per line, so every non-empty line is a block; a
    label alone on its line is joined to the text that follows by the caller.
    """
    return [
        cleaned for line in normalise_newlines(text).split("\n") if (cleaned := clean_line(line))
    ]


def _strip_spam(paragraph: str) -> str:
    return re.sub(r"\s{2,}", " ", _SPAM_GUARD.sub("", paragraph)).strip().rstrip(",;")


def _is_caption_debris(block: str) -> bool:
    # Captions and alt texts the capture kept: short, no sentence punctuation.
    return len(block.split()) <= 14 and not _SENTENCE_END.search(block)


def parse_capture(text: str, *, infer_date: DateInferrer | None = None) -> list[ArticleRecord]:
    """Every article in a capture, in order. Raises NoArticleFound when there is none."""
    drafts: list[_Draft] = []
    draft = _Draft()
    in_footer = False

    def finish() -> None:
        nonlocal draft
        if draft.has_text:
            drafts.append(draft)
        draft = _Draft()

    for block in _blocks(text):
        separator = _SEPARATOR.match(block)
        if separator:
            category = separator["category"].strip() or None
            if draft.has_text:
                draft.category = category
            elif drafts and drafts[-1].category is None:
                drafts[-1].category = category
            finish()
            in_footer = False
            continue
        date = parse_date_line(block)
        if date is not None:
            in_footer = False
            if draft.has_text and not draft.in_bio and draft.date is None and not draft.sections:
                # A short field report: its date line comes after its text.
                draft.date = date
                finish()
            elif draft.has_text:
                finish()
                draft.date = date
            else:
                draft.date = date
            continue
        byline = parse_byline(block)
        if byline is not None:
            in_footer = False
            if draft.has_text:
                finish()
            if draft.seen_byline:  # two bylines, no text between: keep the later article
                draft = _Draft(date=draft.date)
            name, issue_date = byline
            draft.author = name
            draft.seen_byline = True
            if issue_date and draft.date is None:
                draft.date = issue_date
            if draft.header:
                draft.title = draft.header[-1]
            continue
        if in_footer or _FOOTER_START.match(block):
            in_footer = True
            continue
        if _FOOTER_LINES.match(block) or _CREDIT.match(block):
            continue
        block = _strip_spam(block)
        if not block:
            continue
        label_match = _LABEL.match(block)
        if label_match:
            label = label_match["label"].upper().replace("’", "'")
            rest = block[label_match.end() :].strip()
            if "BIO" in label:
                draft.in_bio = True
                if rest:
                    draft.bio.append(rest)
                continue
            draft.in_bio = False
            draft.sections.append((_CANONICAL_LABELS.get(label, label.title()), []))
            if rest:
                draft.sections[-1][1].append(rest)
            continue
        if not draft.seen_byline and not draft.has_text:
            # Before the byline: the title (the last short line wins), or a report with no byline.
            if len(block) <= 200 and not block.endswith("."):
                draft.header.append(block)
                continue
        if draft.lede and not draft.sections and not draft.in_bio and _is_caption_debris(block):
            continue
        if (
            not draft.lede
            and not draft.sections
            and _is_caption_debris(block)
            and draft.seen_byline
        ):
            continue
        draft.add_text(block)
    finish()

    records = [_to_record(d, infer_date) for d in drafts]
    records = [r for r in records if r is not None]
    if not records:
        raise NoArticleFound("no article found")
    return records


def _to_record(draft: _Draft, infer_date: DateInferrer | None) -> ArticleRecord | None:
    lede_paragraphs = draft.lede
    sections: list[Section] = []
    if draft.sections:
        if lede_paragraphs:
            sections.append(Section(LEDE, "\n\n".join(lede_paragraphs)))
        sections.extend(
            Section(name, "\n\n".join(paragraphs))
            for name, paragraphs in draft.sections
            if paragraphs
        )
    elif lede_paragraphs:
        sections.append(Section(LEDE, lede_paragraphs[0]))
        if len(lede_paragraphs) > 1:
            sections.append(Section(TEXT, "\n\n".join(lede_paragraphs[1:])))
    if sum(len(_WORDS.findall(s.text)) for s in sections) < MIN_WORDS:
        return None  # punctuation or a stray line is not an analysis
    title = draft.title or (draft.header[-1] if draft.header and not draft.seen_byline else None)
    title_inferred = False
    if not title:
        title = infer_headline(sections[0].text)
        title_inferred = True
    published = draft.date
    date_inferred = False
    if published is None and infer_date is not None:
        published = infer_date(sections)
        date_inferred = published is not None
    bio = " ".join(draft.bio).strip() or None
    return ArticleRecord(
        title=title,
        title_inferred=title_inferred,
        author=draft.author,
        published=published,
        date_inferred=date_inferred,
        sections=tuple(sections),
        author_bio=bio,
        category=draft.category,
    )


_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:[”\"’']?)(?=\s+[A-Z“\"]|$)")


def infer_headline(lede: str) -> str:
    """The lede's first sentence, trimmed at a word boundary: a quote, never a new claim."""
    text = lede.strip()
    match = _FIRST_SENTENCE.match(text)
    sentence = match.group(1) if match else text
    sentence = sentence.rstrip(".")
    return trim_words(sentence, HEADLINE_CHARS)
