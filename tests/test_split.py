"""Splitting Telegram HTML into messages: limits, boundaries, footers, plain text."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.briefing.messages import CALLBACK_MAX_BYTES, CallbackTooLong, button, callback
from bot.briefing.split import TELEGRAM_LIMIT, split_html, to_plain, visible_length, visible_text


def test_short_text_is_one_message():
    assert split_html("<b>Hi</b>\n\nthere") == ["<b>Hi</b>\n\nthere"]


def test_paragraphs_pack_up_to_the_limit_and_never_beyond():
    paragraph = "<b>Line</b> " + "word " * 150  # ~760 visible characters
    text = "\n\n".join([paragraph] * 20)
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert visible_length(part) <= TELEGRAM_LIMIT
        assert part.count("<b>") == part.count("</b>")
    assert "".join(visible_text(p).replace("\n", "") for p in parts).replace(" ", "") == visible_text(
        text
    ).replace("\n", "").replace(" ", "")


def test_a_long_section_is_cut_between_lines():
    lines = "\n".join(f"• <i>item {i}</i> " + "x" * 90 for i in range(100))
    parts = split_html("<b>Sources</b>\n" + lines)
    assert len(parts) >= 3
    for part in parts:
        assert visible_length(part) <= TELEGRAM_LIMIT
        for line in part.split("\n"):
            assert line.count("<i>") == line.count("</i>")


def test_a_single_giant_line_is_wrapped_at_words_without_markup():
    giant = "<b>" + " ".join(["alpha&amp;beta"] * 1200) + "</b>"
    parts = split_html(giant)
    assert len(parts) >= 4
    for part in parts:
        assert "<b>" not in part and visible_length(part) <= TELEGRAM_LIMIT
        assert "&amp;" in part and "& " not in part


def test_utf16_length_counts_emoji_twice():
    assert visible_length("🇦🇲") == 4
    assert visible_length("&lt;b&gt;") == 3


def test_footer_is_added_and_counted():
    body = "\n\n".join(f"Sentence number {i} with a citation [{i % 3 + 1}]." + " pad" * 200 for i in range(12))
    parts = split_html(body, footer=lambda m: "\n\n<i>sources " + "s" * 300 + "</i>")
    for part in parts:
        assert part.endswith("</i>")
        assert visible_length(part) <= TELEGRAM_LIMIT


def test_to_plain_spells_out_links_and_decodes_entities():
    assert to_plain('<b>A &amp; B</b> <a href="https://x.org/a?b=1&amp;c=2">read</a>') == (
        "A & B read (https://x.org/a?b=1&c=2)"
    )


def test_callback_data_limit_is_in_bytes():
    assert callback("tl", "c:AM", 3) == "tl|c:AM|3"
    with pytest.raises(CallbackTooLong):
        callback("b", "ж" * 40)
    assert len(button("x", "sub", "t:middle-corridor")["callback_data"].encode()) <= CALLBACK_MAX_BYTES


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=900), min_size=1, max_size=30))
def test_any_escaped_text_splits_within_limits(paragraphs):
    text = "\n\n".join(html.escape(p, quote=False) for p in paragraphs)
    for part in split_html(text):
        assert 0 < visible_length(part) <= TELEGRAM_LIMIT
        assert html.unescape(part) == visible_text(part)
