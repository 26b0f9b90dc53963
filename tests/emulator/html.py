"""Telegram-HTML validator for the Bot API emulator.

Owns the rules of ``parse_mode="HTML"`` as documented at
https://core.telegram.org/bots/api#html-style and as implemented by tdlib's ``parse_html``:
the tag whitelist, attribute rules, nesting, the HTML-entity whitelist, and the conversion of
marked-up text into what the user sees (plain text plus ``MessageEntity`` dicts with offsets in
UTF-16 code units).

Where real Telegram silently tolerates sloppy markup this module is deliberately *stricter*,
because a test that passes here must never fail in production:

* a bare ``&`` that does not start a valid entity, and named entities other than
  ``&lt; &gt; &amp; &quot;`` are errors (Telegram renders them literally, the docs forbid them);
* attributes other than the documented ones are errors (tdlib ignores them);
* ``<a>`` without a non-empty ``href`` is an error (tdlib would link the text itself);
* ``<blockquote>`` inside ``<blockquote>`` is an error (the docs forbid nesting them).

Like Telegram, a ``class`` on ``<code>`` that is not ``language-…`` is accepted and ignored
(PTB's ``Message.text_html`` writes ``<pre><code class="python">``, which loses the language).

``<tg-time unix="..." format="...">`` (Bot API 9 date_time entities, emitted by PTB's
``Message.text_html``) is accepted as well, since Telegram accepts it.

Error messages mimic tdlib's ("Unsupported start tag "p" at byte offset 0"); byte offsets are
offsets into the UTF-8 encoding of the input, as Telegram reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "TelegramHtmlError",
    "parse_telegram_html",
    "utf16_len",
    "validate",
    "visible_length",
]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_ALL_TAGS = frozenset(_SIMPLE_TAGS) | {
    "span",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
    "tg-time",
}
# Attributes each tag may carry; anything else is rejected (see module docstring).
_ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "span": frozenset({"class"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z][A-Za-z0-9]{0,31}));")
_SPACE = " \t\n\r\f\v"
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.\-]*")


class TelegramHtmlError(ValueError):
    """Markup Telegram would refuse with "Bad Request: can't parse entities: <reason>"."""

    def __init__(self, reason: str, byte_offset: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.byte_offset = byte_offset


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (astral characters count 2)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    utf16_start: int
    entity_index: int  # len(entities) when the tag opened; used to pair <pre><code>


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict] = []
        self.stack: list[_Open] = []

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8", "surrogatepass"))

    def fail(self, reason: str, index: int | None) -> TelegramHtmlError:
        if index is None:
            return TelegramHtmlError(reason)
        offset = self.byte_offset(index)
        return TelegramHtmlError(f"{reason} at byte offset {offset}", offset)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def decode_entity(self, i: int) -> tuple[str, int]:
        """Decode the entity at text[i] == '&'; return (character, index after it)."""
        m = _ENTITY_RE.match(self.text, i)
        if m is None:
            raise self.fail('Character "&" must be escaped as "&amp;"', i)
        dec, hexa, name = m.groups()
        if name is not None:
            if name not in _NAMED_ENTITIES:
                raise self.fail(f'Unsupported HTML entity "&{name};"', i)
            return _NAMED_ENTITIES[name], m.end()
        code = int(dec) if dec is not None else int(hexa, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self.fail(f'Invalid numeric HTML entity "{m.group(0)}"', i)
        return chr(code), m.end()

    def parse(self) -> tuple[str, list[dict]]:
        text, i = self.text, 0
        while i < self.n:
            c = text[i]
            if c == "&":
                ch, i = self.decode_entity(i)
                self.emit(ch)
            elif c == "<":
                i = self.close_tag(i) if text.startswith("</", i) else self.open_tag(i)
            else:
                # Consume a run of ordinary characters at once; '>' is legal text in Telegram.
                j = i + 1
                while j < self.n and text[j] not in "&<":
                    j += 1
                self.emit(text[i:j])
                i = j
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"', None
            )
        # Empty elements produce no entity in Telegram.
        entities = [e for e in self.entities if e["length"] > 0 and not e.get("_drop")]
        for e in entities:
            e.pop("_language", None)
        entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), entities

    def open_tag(self, begin: int) -> int:
        text, i = self.text, begin + 1
        while i < self.n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= self.n:
            raise self.fail("Unclosed start tag", begin)
        tag = text[begin + 1 : i].lower()
        if tag not in _ALL_TAGS:
            raise self.fail(f'Unsupported start tag "{tag}"', begin)
        attrs: dict[str, str] = {}
        allowed = _ALLOWED_ATTRS.get(tag, frozenset())
        while True:
            while i < self.n and text[i] in _SPACE:
                i += 1
            if i >= self.n:
                raise self.fail("Unclosed start tag", begin)
            if text[i] == ">":
                i += 1
                break
            name_start = i
            while i < self.n and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            name = text[name_start:i].lower()
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}"', begin)
            if name not in allowed:
                raise self.fail(f'Unsupported attribute "{name}" in the tag "{tag}"', name_start)
            while i < self.n and text[i] in _SPACE:
                i += 1
            if i >= self.n:
                raise self.fail("Unclosed start tag", begin)
            if text[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise self.fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"',
                    begin,
                )
            i += 1
            while i < self.n and text[i] in _SPACE:
                i += 1
            if i >= self.n:
                raise self.fail("Unclosed start tag", begin)
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < self.n and text[i] != quote:
                    if text[i] == "&":
                        ch, i = self.decode_entity(i)
                        value.append(ch)
                    else:
                        value.append(text[i])
                        i += 1
                if i >= self.n:
                    raise self.fail("Unclosed start tag", begin)
                i += 1
                attrs[name] = "".join(value)
            else:
                m = _NAME_TOKEN_RE.match(text, i)
                assert m is not None  # the pattern matches the empty string
                if i == m.end() or m.end() >= self.n or text[m.end()] not in _SPACE + ">":
                    raise self.fail("Unexpected end of name token", i)
                attrs[name] = m.group(0).lower()
                i = m.end()
        self.check_open(tag, attrs, begin)
        self.stack.append(_Open(tag, attrs, self.utf16, len(self.entities)))
        return i

    def check_open(self, tag: str, attrs: dict[str, str], begin: int) -> None:
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail('Tag "span" must have class "tg-spoiler"', begin)
        if tag == "a" and not attrs.get("href", "").strip():
            raise self.fail('Tag "a" must have a non-empty attribute "href"', begin)
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.fail('Tag "tg-emoji" must have a numeric attribute "emoji-id"', begin)
        if tag == "tg-time" and not attrs.get("unix", "").isdigit():
            raise self.fail('Tag "tg-time" must have a numeric attribute "unix"', begin)
        if tag == "blockquote" and any(o.tag == "blockquote" for o in self.stack):
            raise self.fail("Blockquote entities can't be nested", begin)

    def close_tag(self, begin: int) -> int:
        text, i = self.text, begin + 2
        if not self.stack:
            raise self.fail("Unexpected end tag", begin)
        while i < self.n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        name = text[begin + 2 : i].lower()
        while i < self.n and text[i] in _SPACE:
            i += 1
        if i >= self.n or text[i] != ">":
            raise self.fail("Unclosed end tag", begin)
        top = self.stack[-1]
        if name != top.tag:
            offset = self.byte_offset(begin)
            raise TelegramHtmlError(
                f"Unmatched end tag at byte offset {offset}, "
                f'expected "</{top.tag}>", found "</{name}>"',
                offset,
            )
        self.stack.pop()
        self.add_entity(top)
        return i + 1

    def add_entity(self, top: _Open) -> None:
        offset, length = top.utf16_start, self.utf16 - top.utf16_start
        entity: dict = {"offset": offset, "length": length}
        tag, attrs = top.tag, top.attrs
        # Telegram lets nothing live inside code/pre and silently drops such entities; the one
        # exception is <pre><code class="language-x">, which merges into a pre with a language.
        if any(o.tag in ("code", "pre") for o in self.stack):
            entity["_drop"] = True
        if tag in _SIMPLE_TAGS or tag == "span":
            entity["type"] = _SIMPLE_TAGS.get(tag, "spoiler")
        elif tag == "a":
            entity.update(type="text_link", url=_normalise_url(attrs["href"]))
        elif tag == "code":
            entity["type"] = "code"
            cls = attrs.get("class", "")
            if cls.startswith("language-") and len(cls) > len("language-"):
                entity["_language"] = cls[len("language-") :]
        elif tag == "pre":
            entity["type"] = "pre"
            last = self.entities[-1] if len(self.entities) > top.entity_index else None
            if (
                last is not None
                and last["type"] == "code"
                and (last["offset"], last["length"]) == (offset, length)
            ):
                self.entities.pop()
                if last.get("_language"):
                    entity["language"] = last["_language"]
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=attrs["emoji-id"])
        elif tag == "tg-time":
            entity.update(type="date_time", unix_time=int(attrs["unix"]))
            if attrs.get("format"):
                entity["date_time_format"] = attrs["format"]
        self.entities.append(entity)


def _normalise_url(url: str) -> str:
    url = url.strip()
    # tdlib accepts scheme-less links and reports them with an http:// prefix.
    return url if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", url) else f"http://{url}"


def parse_telegram_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (visible plain text, list of MessageEntity dicts).

    Raises TelegramHtmlError with a tdlib-style reason for markup Telegram would refuse.
    """
    return _Parser(text).parse()


def validate(text: str) -> None:
    """Raise TelegramHtmlError if Telegram would refuse ``text`` with parse_mode="HTML"."""
    parse_telegram_html(text)


def visible_length(text: str) -> int:
    """UTF-16 length of what the user would see after HTML parsing."""
    plain, _ = parse_telegram_html(text)
    return utf16_len(plain)
