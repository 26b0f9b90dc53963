"""Tests for the Telegram-HTML validator (tests/emulator/html.py).

Owns the contract the emulator enforces for parse_mode="HTML": what Telegram accepts, what it
refuses (and that the reason names the offending tag and byte offset), the visible text and
entities it produces, and length counting in UTF-16 code units.
"""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.emulator.html import (
    TelegramHtmlError,
    parse_telegram_html,
    utf16_len,
    validate,
    visible_length,
)


@pytest.mark.parametrize(
    ("markup", "plain", "entities"),
    [
        ("<b>bold</b>", "bold", [{"type": "bold", "offset": 0, "length": 4}]),
        ("<strong>s</strong>", "s", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<i>i</i><em>e</em>", "ie", [
            {"type": "italic", "offset": 0, "length": 1},
            {"type": "italic", "offset": 1, "length": 1},
        ]),
        ("<u>u</u><ins>n</ins>", "un", [
            {"type": "underline", "offset": 0, "length": 1},
            {"type": "underline", "offset": 1, "length": 1},
        ]),
        ("<s>a</s><strike>b</strike><del>c</del>", "abc", [
            {"type": "strikethrough", "offset": 0, "length": 1},
            {"type": "strikethrough", "offset": 1, "length": 1},
            {"type": "strikethrough", "offset": 2, "length": 1},
        ]),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy", [
            {"type": "spoiler", "offset": 0, "length": 1},
            {"type": "spoiler", "offset": 1, "length": 1},
        ]),
        ('<a href="https://example.org/a?b=1&amp;c=2">link</a>', "link", [
            {"type": "text_link", "offset": 0, "length": 4, "url": "https://example.org/a?b=1&c=2"},
        ]),
        ("<code>x = 1</code>", "x = 1", [{"type": "code", "offset": 0, "length": 5}]),
        ("<pre>block</pre>", "block", [{"type": "pre", "offset": 0, "length": 5}]),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)", [
            {"type": "pre", "offset": 0, "length": 8, "language": "python"},
        ]),
        ("<blockquote>q</blockquote>", "q", [{"type": "blockquote", "offset": 0, "length": 1}]),
        ("<blockquote expandable>q</blockquote>", "q", [
            {"type": "expandable_blockquote", "offset": 0, "length": 1},
        ]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [
            {"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"},
        ]),
        ("<b>bold <i>both</i></b> plain", "bold both plain", [
            {"type": "bold", "offset": 0, "length": 9},
            {"type": "italic", "offset": 5, "length": 4},
        ]),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#39;s&#x27; &#8212;", "<tag> & \"q\" 's' \u2014", []),
        ("a > b", "a > b", []),
        ("<B>upper</B>", "upper", [{"type": "bold", "offset": 0, "length": 5}]),
        ("<b></b>empty elements vanish", "empty elements vanish", []),
        ("😀<b>x</b>", "😀x", [{"type": "bold", "offset": 2, "length": 1}]),
    ],
)  # fmt: skip
def test_valid_markup_gives_visible_text_and_entities(markup, plain, entities):
    assert parse_telegram_html(markup) == (plain, entities)
    validate(markup)


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<ul><li>x</li></ul>", 'Unsupported start tag "ul" at byte offset 0'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("é<marquee>", 'Unsupported start tag "marquee" at byte offset 2'),
        ('<b class="x">y</b>', 'Unsupported attribute "class" in the tag "b"'),
        ('<a href="https://x.org" target="_blank">y</a>', 'Unsupported attribute "target"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        (
            "<blockquote>a<blockquote>b</blockquote></blockquote>",
            "Blockquote entities can't be nested",
        ),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("trailing <", "Unclosed start tag at byte offset 9"),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("R&D", 'Character "&" must be escaped as "&amp;" at byte offset 1'),
        ("<a>no href</a>", 'Tag "a" must have a non-empty attribute "href"'),
        ('<a href="">empty</a>', 'Tag "a" must have a non-empty attribute "href"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", 'Tag "tg-emoji" must have a numeric attribute "emoji-id"'),
        ("<a href=https://x.org>y</a>", "Unexpected end of name token"),
        ("&#0;", "Invalid numeric HTML entity"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ],
)
def test_invalid_markup_is_refused_with_a_telegram_style_reason(markup, reason):
    with pytest.raises(TelegramHtmlError) as caught:
        parse_telegram_html(markup)
    assert reason in str(caught.value)


def test_byte_offset_counts_utf8_bytes():
    with pytest.raises(TelegramHtmlError) as caught:
        validate("€€<p>")
    assert caught.value.byte_offset == 6


def test_code_swallows_nested_entities_like_telegram():
    assert parse_telegram_html("<code><b>x</b></code>") == (
        "x",
        [{"type": "code", "offset": 0, "length": 1}],
    )


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("a😀b", 4), ("👍🏽", 4), ("\u4e2d", 1)],
)
def test_utf16_length(text, units):
    assert utf16_len(text) == units


def test_visible_length_ignores_markup_and_counts_entities_once():
    assert visible_length("<b>😀</b> &amp;") == 4


@given(st.text())
def test_escaped_text_is_always_valid_and_round_trips(s):
    plain, entities = parse_telegram_html(html.escape(s, quote=False))
    assert plain == s
    assert entities == []


@given(st.text())
def test_fully_escaped_text_round_trips_too(s):
    assert parse_telegram_html(html.escape(s))[0] == s


@given(
    st.text(alphabet=st.characters(blacklist_characters="<&", blacklist_categories=("Cs",))),
    st.sampled_from(["b", "i", "code"]),
)
def test_wrapping_escaped_text_in_a_tag_marks_all_of_it(s, tag):
    plain, entities = parse_telegram_html(f"<{tag}>{s}</{tag}>")
    assert plain == s
    if s:
        assert entities[0]["offset"] == 0 and entities[0]["length"] == utf16_len(s)
