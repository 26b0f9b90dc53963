"""Text hygiene shared by every parser: decoding raw bytes and normalising whitespace."""

from __future__ import annotations

import codecs
import re
import unicodedata


class UndecodableInput(ValueError):
    """The bytes are not text this project can read."""


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_bytes(data: bytes) -> str:
    """UTF-8, or UTF-16/32 announced by a byte-order mark; anything else is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableInput(f"not valid {encoding.upper()} ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise UndecodableInput("binary data, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableInput(f"not UTF-8 text (byte {exc.start})") from exc


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_line(line: str) -> str:
    """One line: NFC, no invisible characters, runs of any space as one ASCII space."""
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE)
    return _SPACES.sub(" ", line).strip()


def clean_paragraph(text: str) -> str:
    return " ".join(
        clean_line(line) for line in normalise_newlines(text).split("\n") if line.strip()
    )


def trim_words(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, marked with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"
