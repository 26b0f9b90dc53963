"""What a fetched source is: the kind stored on the Source and used to pick its parser.

Owns the decision from the response's content type, the URL and a sniff of the body:
  rss, atom  RSS (0.9x, 1.0/RDF, 2.0) and Atom feeds
  listing    an HTML listing of several articles with "Read more" links (CACI Analyst)
  page       any other HTML page: one article
  capture    plain text in the capture format
  jsonl      JSON Lines (application/jsonl, application/x-ndjson, or a .jsonl URL)
The content type is believed first; the body decides when the type is generic
(application/xml, text/plain, none at all) or plainly wrong (a feed served as text/html).
"""

from __future__ import annotations

import codecs
import json
import re
from urllib.parse import urlsplit

from bot.ingest.listing import looks_like_listing
from bot.sources.fetch import HTML_TYPES, JSONL_TYPES, XML_TYPES

KINDS = ("rss", "atom", "listing", "page", "capture", "jsonl")
FEED_KINDS = frozenset({"rss", "atom"})

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_FIRST_ELEMENT = re.compile(rb"<(?![?!/])([A-Za-z_][\w:.\-]*)")
_SNIFF_BYTES = 8192


class UnknownKind(ValueError):
    """The response is none of the kinds Briefbot reads."""


def _head_text(body: bytes) -> bytes:
    head = body[:_SNIFF_BYTES]
    for bom, encoding in (
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore").encode("utf-8")
    return head.removeprefix(codecs.BOM_UTF8)


def _root_element(body: bytes) -> str | None:
    """The first element's name, skipping the XML declaration, comments and doctype."""
    head = _head_text(body)
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
    match = _FIRST_ELEMENT.search(head)
    return match.group(1).decode("ascii", "ignore").lower() if match else None


def _feed_kind(root: str | None) -> str | None:
    if root == "rss" or root in ("rdf:rdf", "rdf"):
        return "rss"
    if root == "feed":
        return "atom"
    return None


def _looks_like_jsonl(body: bytes) -> bool:
    for raw in _head_text(body).splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith(b"{"):
            return False
        try:
            return isinstance(json.loads(line), dict)
        except ValueError:
            # A first line cut off by the sniff window is still JSON-looking.
            return len(raw) >= _SNIFF_BYTES // 2
    return False


def _html_kind(body: bytes, url: str) -> str:
    return "listing" if looks_like_listing(body, base_url=url or "http://localhost/") else "page"


def detect_kind(content_type: str, body: bytes, url: str = "") -> str:
    """One of KINDS for a response, or UnknownKind."""
    media = (content_type or "").split(";")[0].strip().lower()
    path = urlsplit(url).path.lower() if url else ""
    if media == "application/rss+xml":
        return "rss"
    if media == "application/atom+xml":
        return "atom"
    if media in JSONL_TYPES:
        if media == "application/json" and not _looks_like_jsonl(body):
            raise UnknownKind("JSON that is not JSON Lines (one object per line)")
        return "jsonl"
    root = _root_element(body) if body.lstrip()[:1] in (b"<", b"\xef", b"\xff", b"\xfe") else None
    if media in XML_TYPES:
        kind = _feed_kind(root)
        if kind:
            return kind
        if root == "html":
            return _html_kind(body, url)
        raise UnknownKind(f"XML that is not a feed (root element {root or 'missing'})")
    if media in HTML_TYPES:
        return _feed_kind(root) or _html_kind(body, url)
    if media == "text/plain" or not media:
        if path.endswith(_JSONL_SUFFIXES) or _looks_like_jsonl(body):
            return "jsonl"
        if root is not None:
            kind = _feed_kind(root)
            if kind:
                return kind
            if root in ("html", "head", "body", "div", "p", "article"):
                return _html_kind(body, url)
        if not body.strip():
            raise UnknownKind("empty response")
        return "capture"
    raise UnknownKind(f"content type {media} is not a feed, page, capture or JSON Lines")
