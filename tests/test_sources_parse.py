"""Feeds, article pages and listings parsed into records; what kind a response is."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.enrich.model import BACKGROUND, CONCLUSIONS, IMPLICATIONS, LEDE
from bot.ingest.capture import NoArticleFound, parse_capture
from bot.ingest.feed import NotAFeed, parse_feed
from bot.ingest.listing import item_record, looks_like_listing, parse_listing
from bot.ingest.page import html_paragraphs, parse_page, record_from_paragraphs
from bot.sources.detect import UnknownKind, detect_kind
from tests.conftest import SAMPLE
from tests.test_sources_support import PAGE_1, PAGE_2, SOURCE_FIXTURES

BASE = "https://www.cacianalyst.example"
SECTIONS = [LEDE, BACKGROUND, IMPLICATIONS, CONCLUSIONS]


def fixture(name: str) -> bytes:
    return (SOURCE_FIXTURES / name).read_bytes().replace(b"{{BASE}}", BASE.encode())


@pytest.fixture(scope="module")
def capture_by_fingerprint():
    return {r.fingerprint: r for r in parse_capture(SAMPLE.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("name,kind", [("feed.rss", "rss"), ("feed.atom", "atom")])
def test_full_text_feeds_give_the_same_articles_as_the_capture(name, kind, capture_by_fingerprint):
    feed = parse_feed(fixture(name), base_url=BASE + "/" + name)
    assert feed.kind == kind
    assert [r.title for r in feed.records] == [
        "Russia Reengages with Armenia (and Azerbaijan)",
        "China's Road to Europe Passes through Azerbaijan",
    ]
    first, second = feed.records
    assert first.url == BASE + PAGE_1 and second.url == BASE + PAGE_2
    assert (first.author, first.published) == ("Eduard Abrahamyan", dt.date(2025, 11, 6))
    assert (second.author, second.published) == ("Syed Fazl-e-Haider", dt.date(2025, 9, 4))
    for record in feed.records:
        assert not record.summary_only and not record.title_inferred and not record.date_inferred
        assert record.category == "Analytical Articles"
        assert [s.name for s in record.sections] == SECTIONS
        captured = capture_by_fingerprint[record.fingerprint]  # same analysis, same identity
        assert captured.sections == record.sections
        assert captured.author_bio == record.author_bio
        assert "Credit:" not in record.body_text


def test_a_summary_only_feed_is_flagged(capture_by_fingerprint):
    feed = parse_feed(fixture("summary.rss"), base_url=BASE + "/summary.rss")
    assert len(feed.records) == 2
    for record in feed.records:
        assert record.summary_only
        assert [s.name for s in record.sections] == [LEDE]
        assert record.url.startswith(BASE + "/publications/")
        # The summary is the lede, so it is recognised as the same article.
        assert record.fingerprint in capture_by_fingerprint


def test_relative_links_resolve_against_the_feed_url():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>One</title><link>/item/1.html</link>
      <description>Kazakhstan and Uzbekistan agreed on water sharing in the Syr Darya basin.</description></item>
      <item><title>No link</title>
      <description>Georgia's parliament passed the law on the third reading last week.</description></item>
    </channel></rss>"""
    records = parse_feed(rss, base_url="https://example.org/feeds/main.rss").records
    assert records[0].url == "https://example.org/item/1.html"
    assert records[1].url is None  # a URL only where the source gave one
    assert all(r.summary_only for r in records)


def test_feed_text_is_never_fetched_by_feedparser():
    # feedparser reads a str or bytes argument as a URL or path; ours are always streams.
    with pytest.raises(NotAFeed):
        parse_feed(b"http://127.0.0.1:9/feed.rss")
    with pytest.raises(NotAFeed):
        parse_feed(str(SAMPLE).encode())


def test_not_a_feed():
    with pytest.raises(NotAFeed):
        parse_feed(b"<html><body><p>hello</p></body></html>")


@pytest.mark.parametrize("path", [PAGE_1, PAGE_2])
def test_article_pages_are_read_with_their_structure(path, capture_by_fingerprint):
    record = parse_page(fixture(path.rsplit("/", 1)[1]), url=BASE + path)
    assert record.url == BASE + path
    assert not record.title_inferred and not record.date_inferred and not record.summary_only
    assert [s.name for s in record.sections] == SECTIONS
    captured = capture_by_fingerprint[record.fingerprint]
    assert record.title == captured.title
    assert record.published == captured.published
    assert record.author == captured.author
    assert record.sections == captured.sections
    assert record.author_bio == captured.author_bio
    for debris in ("Newsletter", "Visit also", "Most read", "Credit:", "Print", "Uzbekistan's Water"):
        assert debris not in record.body_text


def test_a_page_without_a_dated_markup_is_dated_from_the_text_and_flagged():
    html = fixture(PAGE_1.rsplit("/", 1)[1]).decode()
    html = html.replace('<meta property="article:published_time" content="2025-11-06T14:52:00+00:00" />', "")
    html = html.replace("Thursday, 06 November 2025 14:52", "")
    seen = []

    def infer(sections):
        seen.append(sections)
        return dt.date(2025, 10, 31)

    record = parse_page(html, url=BASE + PAGE_1, infer_date=infer)
    assert record.published == dt.date(2025, 10, 31) and record.date_inferred
    assert seen and seen[0][0].name == LEDE
    # Not the first date the text mentions (October 8, 2024): markup dates only.
    assert parse_page(html, url=BASE + PAGE_1).published is None


def test_a_page_without_text_is_no_article():
    with pytest.raises(NoArticleFound):
        parse_page(b"<html><head><title>x</title></head><body><nav>Home</nav></body></html>")


def test_record_from_a_one_line_summary():
    record = record_from_paragraphs(["Short teaser"], title="A title", summary_only=True)
    assert record.lede == "Short teaser" and record.title == "A title" and record.summary_only


def test_html_paragraphs_split_blocks_and_drop_scripts():
    fragment = (
        "<p>First <b>para</b>graph.</p><div>Second<br>line</div><script>alert(1)</script>"
        "<style>p{}</style><ul><li>item &amp; more</li></ul>tail"
    )
    assert html_paragraphs(fragment) == ["First paragraph.", "Second", "line", "item & more", "tail"]


def test_the_listing_gives_its_articles_in_order():
    html = fixture("listing.html")
    items = parse_listing(html, base_url=BASE + "/publications/analytical-articles.html")
    assert [i.url for i in items] == [BASE + PAGE_1, BASE + PAGE_2]
    assert [i.title for i in items] == [
        "Russia Reengages with Armenia (and Azerbaijan)",
        "China's Road to Europe Passes through Azerbaijan",
    ]
    assert [i.published for i in items] == [dt.date(2025, 11, 6), dt.date(2025, 9, 4)]
    assert all(i.category == "Analytical Articles" and not i.full_text for i in items)
    record = item_record(items[0])
    assert record.summary_only and record.author == "Eduard Abrahamyan"
    assert record.lede.startswith("In recent months, Armenia and Russia")
    assert record.url == BASE + PAGE_1


def test_a_listing_with_full_text_items_is_not_summary_only():
    body = "".join(
        f"""<div class="item"><h2><a href="/a/{n}.html">Title {n}</a></h2>
        <p>By Ann Example</p><p>The lede of article {n} says something about Armenia.</p>
        <p><strong>BACKGROUND:</strong> Background of {n}.</p>
        <p><strong>CONCLUSIONS:</strong> Conclusions of {n}.</p>
        <a href="/a/{n}.html">Read more</a></div>"""
        for n in (1, 2, 3)
    )
    items = parse_listing(f"<html><body>{body}</body></html>", base_url="https://x.example/list")
    assert [i.url for i in items] == [f"https://x.example/a/{n}.html" for n in (1, 2, 3)]
    records = [item_record(i) for i in items]
    assert all(not r.summary_only for r in records)
    assert [s.name for s in records[1].sections] == [LEDE, BACKGROUND, CONCLUSIONS]


def test_a_listing_of_title_links_only():
    html = "<html><body>" + "".join(
        f'<article><h3><a href="/p/{n}">Headline {n}</a></h3><time datetime="2025-10-0{n}">x</time></article>'
        for n in (1, 2)
    ) + "</body></html>"
    items = parse_listing(html, base_url="https://x.example/")
    assert [(i.url, i.title, i.published) for i in items] == [
        ("https://x.example/p/1", "Headline 1", dt.date(2025, 10, 1)),
        ("https://x.example/p/2", "Headline 2", dt.date(2025, 10, 2)),
    ]
    assert item_record(items[0]) is None  # no text of its own: its page is needed


def test_article_pages_are_not_listings():
    assert looks_like_listing(fixture("listing.html"))
    assert not looks_like_listing(fixture(PAGE_1.rsplit("/", 1)[1]))


@pytest.mark.parametrize(
    "content_type,name,url,kind",
    [
        ("application/rss+xml", "feed.rss", "", "rss"),
        ("application/xml", "feed.rss", "", "rss"),
        ("text/xml; charset=utf-8", "feed.atom", "", "atom"),
        ("application/atom+xml", "feed.atom", "", "atom"),
        ("text/html", "feed.rss", "", "rss"),  # a feed mislabelled as HTML
        ("", "feed.atom", "", "atom"),
        ("text/html; charset=utf-8", "listing.html", "", "listing"),
        ("text/html", PAGE_1.rsplit("/", 1)[1], "", "page"),
        ("", PAGE_2.rsplit("/", 1)[1], "", "page"),
        ("application/xhtml+xml", "listing.html", "", "listing"),
    ],
)
def test_detect_fixture_kinds(content_type, name, url, kind):
    assert detect_kind(content_type, fixture(name), url) == kind


def test_detect_text_kinds():
    capture = SAMPLE.read_bytes()
    jsonl = b'{"title": "T", "text": "Some text."}\n{"text": "More."}\n'
    assert detect_kind("text/plain; charset=utf-8", capture) == "capture"
    assert detect_kind("", capture) == "capture"
    assert detect_kind("application/x-ndjson", jsonl) == "jsonl"
    assert detect_kind("application/jsonl", jsonl) == "jsonl"
    assert detect_kind("text/plain", jsonl) == "jsonl"
    assert detect_kind("text/plain", b"some text", "https://x.example/export.jsonl") == "jsonl"
    assert detect_kind("application/json", jsonl) == "jsonl"
    with pytest.raises(UnknownKind):
        detect_kind("application/json", b'[{"title": "T"}]')
    with pytest.raises(UnknownKind):
        detect_kind("application/xml", b"<?xml version='1.0'?><svg/>")
    with pytest.raises(UnknownKind):
        detect_kind("image/png", b"\x89PNG")
    with pytest.raises(UnknownKind):
        detect_kind("text/plain", b"  \n ")
