"""ArticleRecord: what every parser produces and the loader stores.

A record is clean text: boilerplate gone, whitespace normalised, quotes as published.
What was inferred rather than read (a headline from the lede, a date from the text)
is flagged; a URL is present only where the source gave one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from bot.enrich.model import LEDE, Section


@dataclass(frozen=True)
class ArticleRecord:
    title: str
    title_inferred: bool
    author: str | None
    published: dt.date | None
    date_inferred: bool
    sections: tuple[Section, ...]  # the lede first (named "Lede"), then the body in order
    author_bio: str | None = None
    category: str | None = None
    url: str | None = None
    summary_only: bool = False  # a feed gave only a summary, not the full text
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def lede(self) -> str:
        for section in self.sections:
            if section.name == LEDE:
                return section.text
        return self.sections[0].text if self.sections else ""

    @property
    def body_text(self) -> str:
        return "\n\n".join(section.text for section in self.sections)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything a reader sees changes."""
        parts = [
            self.title,
            self.author or "",
            self.published.isoformat() if self.published else "",
            *(f"{s.name}\n{s.text}" for s in self.sections),
            self.author_bio or "",
            self.url or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    @property
    def title_key(self) -> str | None:
        """Identity by author, the publisher's own title and date; None when the title was inferred.

        The date keeps two pieces an author gave the same title apart ("Field Report").
        """
        if self.title_inferred or not self.title.strip():
            return None
        date = self.published.isoformat() if self.published and not self.date_inferred else ""
        basis = " ".join(_normalised_words(self.author or "")) + "|" + " ".join(_normalised_words(self.title)) + "|" + date
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]

    @property
    def fingerprint(self) -> str:
        """Identity that survives edits and a different carrier (capture, feed, page).

        The author and the opening words of the lede, normalised: the same analysis seen
        in a text capture and on its web page maps to the same fingerprint.
        """
        words = _normalised_words(self.lede)[:30]
        author = " ".join(_normalised_words(self.author or ""))
        basis = author + "|" + " ".join(words)
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


_WORD = re.compile(r"\w+", re.UNICODE)


def _normalised_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded)
