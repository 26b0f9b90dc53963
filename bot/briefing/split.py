"""Splitting Telegram HTML into messages of at most 4096 visible characters.

Cuts fall on paragraph boundaries (a blank line), else on line boundaries, never inside
a tag or an entity: templates close every tag on the line that opens it. Only a single
line longer than a whole message is cut inside, at a word boundary, with its markup
dropped. Telegram counts the text after parsing, in UTF-16 code units; so do we.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)


def visible_text(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment))


def visible_length(fragment: str) -> int:
    return len(visible_text(fragment).encode("utf-16-le")) // 2


def to_plain(fragment: str) -> str:
    """The same view for a terminal: links spelled out, tags gone, entities decoded."""

    def spell_link(match: re.Match[str]) -> str:
        url, label = html.unescape(match.group(1)), visible_text(match.group(2))
        shown = label if label == url else f"{label} ({url})"
        return html.escape(shown, quote=False)

    return visible_text(_LINK.sub(spell_link, fragment))


def _hard_wrap(line: str, limit: int) -> list[str]:
    """A single oversized line: drop its markup, re-escape, cut at spaces."""
    words = visible_text(line).split(" ")
    chunks, current = [], ""
    for word in words:
        while len(word) > limit:  # a "word" longer than a message: cut it outright
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if len(candidate.encode("utf-16-le")) // 2 > limit:
            chunks.append(current)
            current = word
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [html.escape(chunk, quote=False) for chunk in chunks]


def _pieces(text: str, limit: int) -> list[tuple[str, str]]:
    """(joiner, piece): paragraphs joined by a blank line, their lines by a newline."""
    pieces: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n{2,}", text.strip()):
        if not paragraph.strip():
            continue
        if visible_length(paragraph) <= limit:
            pieces.append(("\n\n", paragraph))
            continue
        first = True
        for line in paragraph.split("\n"):
            chunks = [line] if visible_length(line) <= limit else _hard_wrap(line, limit)
            for chunk in chunks:
                pieces.append(("\n\n" if first else "\n", chunk))
                first = False
    return pieces


def split_html(
    text: str, limit: int = TELEGRAM_LIMIT, footer: Callable[[str], str] | None = None, reserve: int = 600
) -> list[str]:
    """Pack paragraphs into messages; `footer(message)` is appended to each message."""
    footer = footer or (lambda _message: "")
    budget = limit - reserve if reserve < limit // 2 else limit
    messages: list[str] = []
    current = ""
    for joiner, piece in _pieces(text, budget):
        candidate = f"{current}{joiner}{piece}" if current else piece
        if current and visible_length(candidate + footer(candidate)) > limit:
            messages.append(current)
            current = piece
        else:
            current = candidate
    if current:
        messages.append(current)
    return [message + footer(message) for message in messages]
