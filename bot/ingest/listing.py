"""Listing pages of the Central Asia-Caucasus Analyst: many articles on one HTML page.

Owns reading a listing (the publication's category pages: per article a dated title
linking to the article, a `By Name` byline, the intro text and a "Read more..." link):
the article URLs for the poller to fetch, and for each item a record from the listing's
own text, flagged `summary_only` unless the listing shows the labelled full text.

Items are found by their "Read more" links (the K2 markup's `k2ReadMore`, or the link
text) and, on a listing without them, by title links in headings. An item is the
largest block around its link holding no other item's link, so the reader does not
depend on one theme's class names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import lxml.html
from lxml import etree

from bot.ingest.capture import DateInferrer, NoArticleFound, parse_date_line
from bot.ingest.page import html_paragraphs, record_from_paragraphs
from bot.ingest.records import ArticleRecord
from bot.ingest.text import clean_paragraph

_READ_MORE_TEXT = re.compile(r"^\s*(?:read more|continue reading|read the full article|more)\b", re.I)
_LABELLED = re.compile(r"^(?:BACKGROUND|IMPLICATIONS|CONCLUSIONS?)\s*:", re.M)
_HEADINGS = ("h1", "h2", "h3", "h4")
MAX_ITEMS = 100  # a listing longer than this is not a page of one publication's articles


@dataclass(frozen=True)
class ListingItem:
    url: str
    title: str | None
    published: dt.date | None
    paragraphs: tuple[str, ...]  # the item's own text: byline, intro (or full text)
    category: str | None = None

    @property
    def full_text(self) -> bool:
        """The listing shows the labelled article, not only its intro."""
        return bool(_LABELLED.search("\n".join(self.paragraphs)))


def _document(html: bytes | str) -> etree._Element | None:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _classes(element: etree._Element) -> str:
    return (element.get("class") or "").lower()


def _is_read_more(link: etree._Element) -> bool:
    if "readmore" in _classes(link) or "read-more" in _classes(link):
        return True
    return bool(_READ_MORE_TEXT.match(link.text_content() or "")) and len(
        link.text_content().strip()
    ) <= 40


def _http_url(href: str | None, base_url: str) -> str | None:
    if not href:
        return None
    url = urldefrag(urljoin(base_url, href.strip()))[0]
    return url if url.startswith(("http://", "https://")) else None


def _anchor_links(root: etree._Element, base_url: str) -> list[tuple[etree._Element, str]]:
    """Per item one anchor: its "Read more" link, or else a title link in a heading."""
    found: list[tuple[etree._Element, str]] = []
    seen: set[str] = set()
    for link in root.iter("a"):
        if _is_read_more(link):
            url = _http_url(link.get("href"), base_url)
            if url and url not in seen:
                seen.add(url)
                found.append((link, url))
    if len(found) >= 2:
        return found[:MAX_ITEMS]
    found, seen = [], set()
    for heading in root.iter(*_HEADINGS):
        for link in heading.iter("a"):
            url = _http_url(link.get("href"), base_url)
            if url and url not in seen:
                seen.add(url)
                found.append((link, url))
            break
    return found[:MAX_ITEMS]


def _item_block(link: etree._Element, others: set[etree._Element]) -> etree._Element:
    """The largest ancestor of `link` that contains no other item's anchor."""
    block = link
    parent = link.getparent()
    while parent is not None and parent.tag not in ("body", "html"):
        if any(other is not link and _contains(parent, other) for other in others):
            break
        block = parent
        parent = parent.getparent()
    return block


def _contains(ancestor: etree._Element, element: etree._Element) -> bool:
    node = element.getparent()
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def parse_listing(html: bytes | str, *, base_url: str) -> list[ListingItem]:
    """The articles a listing page links to, in page order; [] if it lists none."""
    root = _document(html)
    if root is None:
        return []
    for element in list(root.iter("script", "style", "noscript", "template")):
        if element.getparent() is not None:
            element.drop_tree()
    anchors = _anchor_links(root, base_url)
    if len(anchors) < 2:
        return []
    links = {link for link, _ in anchors}
    items = []
    for link, url in anchors:
        block = _item_block(link, links)
        items.append(_item(block, url, link))
    return items


def looks_like_listing(html: bytes | str, *, base_url: str = "http://localhost/") -> bool:
    """Several items each with its own "Read more" link: a listing, not an article."""
    root = _document(html)
    if root is None:
        return False
    read_more = {
        _http_url(link.get("href"), base_url) for link in root.iter("a") if _is_read_more(link)
    }
    read_more.discard(None)
    return len(read_more) >= 2


def _item(block: etree._Element, url: str, anchor: etree._Element) -> ListingItem:
    title = None
    for heading in block.iter(*_HEADINGS):
        text = clean_paragraph(heading.text_content())
        if text:
            title = text
            break
    if title is None and not _is_read_more(anchor):
        title = clean_paragraph(anchor.text_content()) or None

    published = None
    for element in block.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "time" or "date" in _classes(element):
            value = element.get("datetime") or element.text_content()
            published = _date_from(value)
            if published:
                break

    category = None
    for element in block.iter():
        if isinstance(element.tag, str) and "category" in _classes(element):
            text = clean_paragraph(element.text_content())
            category = re.sub(r"^Published in\s+", "", text, flags=re.I) or None
            break

    paragraphs = []
    for element in block.iter():
        if not isinstance(element.tag, str):
            continue
        classes = _classes(element)
        if "introtext" in classes or "fulltext" in classes:
            paragraphs = html_paragraphs(lxml.html.tostring(element, encoding="unicode"))
            break
    if not paragraphs:
        # No marked-up intro: the block's text minus its title, date, links and category.
        skip = {title} if title else set()
        for element in block.iter():
            if not isinstance(element.tag, str):
                continue
            if element.tag in (*_HEADINGS, "a", "time") or "date" in _classes(element):
                skip.add(clean_paragraph(element.text_content()))
        for text in html_paragraphs(lxml.html.tostring(block, encoding="unicode")):
            if text in skip or _date_from(text) or text.lower().startswith("published in"):
                continue
            paragraphs.append(text)
    return ListingItem(url, title, published, tuple(paragraphs), category)


def _date_from(value: str | None) -> dt.date | None:
    if not value:
        return None
    value = clean_paragraph(value)
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        pass
    return parse_date_line(value)


def item_record(item: ListingItem, *, infer_date: DateInferrer | None = None) -> ArticleRecord | None:
    """The record the listing's own text gives for an item; None when it shows no text."""
    if not item.paragraphs:
        return None
    try:
        return record_from_paragraphs(
            item.paragraphs,
            title=item.title,
            published=item.published,
            url=item.url,
            category=item.category,
            summary_only=not item.full_text,
            infer_date=infer_date,
        )
    except NoArticleFound:
        return None
