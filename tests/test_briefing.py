"""Briefings on the sample corpus: content, sourcing, Telegram validity, hostile input."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.briefing import compose
from bot.briefing.messages import CALLBACK_MAX_BYTES
from bot.briefing.render import Renderer
from bot.briefing.resolve import resolve
from bot.chat.commands import Caller, Commands
from bot.config import PROJECT_ROOT, Settings
from bot.ingest.loader import ingest_paths
from bot.store.models import Article, EntityStats
from tests.conftest import SAMPLE
from tests.emulator.html import parse_telegram_html, utf16_len, validate

TODAY = dt.date(2026, 11, 26)
USER = Caller(chat_id=42, chat_type="private", user_id=42)


@pytest.fixture
def loaded(engine, knowledge):  # noqa: ANN001
    report = ingest_paths(engine, [SAMPLE], knowledge)
    assert report.failed == 0
    return engine


@pytest.fixture
def commands(loaded, knowledge):  # noqa: ANN001
    settings = Settings(database_url="sqlite://", telegram_bot_token=None)
    return Commands(loaded, knowledge, Renderer(PROJECT_ROOT / "templates"), settings, today=lambda: TODAY)


def check_messages(messages) -> list[str]:  # noqa: ANN001
    """Every message valid Telegram HTML within limits; returns the visible texts."""
    texts = []
    assert messages, "no reply at all"
    for message in messages:
        validate(message.text)
        plain, _ = parse_telegram_html(message.text)
        assert 1 <= utf16_len(plain) <= 4096
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    assert 1 <= len(button["callback_data"].encode()) <= CALLBACK_MAX_BYTES
        texts.append(plain)
    return texts


def brief(loaded, knowledge, key):  # noqa: ANN001
    with Session(loaded) as session:
        return compose.compose_briefing(session, knowledge, key, TODAY)


def test_armenia_briefing_has_dated_developments_sources_and_russia(loaded, knowledge):
    b = brief(loaded, knowledge, "c:AM")
    assert b.entity.name == "Armenia" and b.article_count >= 3
    assert len(b.developments) >= 4
    meeting = [d for d in b.developments if d.date == dt.date(2024, 10, 8)]
    assert meeting and meeting[0].precision == "day"
    assert "Putin and Pashinyan" in meeting[0].quote.text and "Moscow" in meeting[0].quote.text
    assert [d.date for d in b.developments] == sorted((d.date for d in b.developments), reverse=True)
    assert "c:RU" in [r.entity.key for r in b.relations]
    assert 2 <= len(b.situation) <= 4
    numbers = {s.number for s in b.sources}
    cited = [q.source for q in b.situation] + [d.quote.source for d in b.developments]
    cited += [q.source for q in b.outlook] + [r.evidence.source for r in b.relations if r.evidence]
    cited += [f.quote.source for f in b.figures]
    assert set(cited) == numbers and sorted(numbers) == list(range(1, len(numbers) + 1))


def test_every_quoted_sentence_is_in_its_source(loaded, knowledge):
    for key in ("c:AM", "c:AZ", "t:caspian", "t:tripp"):
        b = brief(loaded, knowledge, key)
        with Session(loaded) as session:
            bodies = {s.number: session.get(Article, s.article_id).body for s in b.sources}
        quotes = list(b.situation) + [d.quote for d in b.developments] + list(b.outlook)
        quotes += [r.evidence for r in b.relations if r.evidence] + [f.quote for f in b.figures]
        for quote in quotes:
            text = quote.text.removesuffix("…").strip()
            assert text in bodies[quote.source], (key, quote)


def test_caspian_topic_names_littoral_states_and_2025_exercises(commands):
    texts = check_messages(commands.handle_text("/topic caspian", USER))
    whole = "\n".join(texts)
    for state in ("Azerbaijan", "Kazakhstan", "Turkmenistan", "Russia", "Iran"):
        assert state in whole
    assert re.search(r"exercises.*2025|2025.*exercises|Caspian Breeze", whole)
    assert "Countries involved" in whole and "Relations" not in whole


def test_rendered_armenia_briefing_reads_right(commands):
    messages = commands.handle_text("/brief Armenia", USER)
    texts = check_messages(messages)
    whole = "\n".join(texts)
    for heading in ("Situation", "Key developments", "Relations", "Sources"):
        assert heading in whole
    assert whole.index("Situation") < whole.index("Key developments") < whole.index("Relations") < whole.index("Sources")
    assert "8 Oct 2024" in whole
    assert not re.search(r"\b1 (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d —", whole)
    assert "headline quoted from the lede" in whole and "date inferred" in whole
    buttons = [b["callback_data"] for m in messages for row in (m.reply_markup or {}).get("inline_keyboard", []) for b in row]
    assert "tl|c:AM|1" in buttons and "src|c:AM" in buttons
    for text in texts:
        for number in re.findall(r"\[(\d+)\]", text):
            assert re.search(rf"\[{number}\] ", text), f"source {number} not explained in the same message"


@pytest.mark.parametrize("typed", ["türkiye", "TURKEY", "tr", "Turkish", "Ankara"])
def test_turkey_by_any_name(knowledge, typed):
    assert resolve(typed, knowledge).key == "c:TR"


@pytest.mark.parametrize(
    ("typed", "key"),
    [("caspian", "t:caspian"), ("Caspian Sea", "t:caspian"), ("Zangezur corridor", "t:tripp"), ("AM", "c:AM")],
)
def test_topics_and_codes_resolve(knowledge, typed, key):
    assert resolve(typed, knowledge).key == key


def test_typo_gets_did_you_mean_with_buttons(commands):
    messages = commands.handle_text("/brief Armnia", USER)
    (text,) = check_messages(messages)
    assert "Did you mean" in text and "Armenia" in text
    assert messages[-1].reply_markup["inline_keyboard"][0][0]["callback_data"] == "b|c:AM"


def test_known_country_without_coverage_offers_neighbours(commands, loaded):
    with Session(loaded) as session:
        assert session.get(EntityStats, "c:MN") is None
    (text,) = check_messages(commands.handle_text("/brief Mongolia", USER))
    assert "not covered" in text
    assert "Russia" in text or "China" in text


def test_unknown_and_empty(commands):
    (unknown,) = check_messages(commands.handle_text("/brief Narnia", USER))
    assert "don't know" in unknown and "Narnia" in unknown
    (usage,) = check_messages(commands.handle_text("/brief", USER))
    assert usage.startswith("Usage:") and "/brief Armenia" in usage


@pytest.mark.parametrize(
    "hostile",
    [
        "<b>Armenia</b><script>alert(1)</script>",
        "A" * 5000,
        "'; DROP TABLE article; --",
        "Armenia\" OR 1=1 --",
        "🇦🇲🔥💣" * 30,
        "&lt;&amp;&#0;&nbsp;",
        "\u202eainemrA",
    ],
)
def test_hostile_arguments_are_answered_safely(commands, loaded, hostile):
    for command in ("brief", "topic", "timeline", "search", "article", "latest"):
        messages = commands.handle_text(f"/{command} {hostile}", USER)
        check_messages(messages)
        for message in messages:
            assert "<script>" not in message.text
    with Session(loaded) as session:
        assert len(session.execute(select(Article.id)).all()) == 5


def test_all_views_of_all_entities_are_valid_and_link_only_stored_urls(commands, loaded, knowledge):
    with Session(loaded) as session:
        keys = session.execute(select(EntityStats.entity_key).where(EntityStats.article_count > 0)).scalars().all()
        stored_urls = {u for u in session.execute(select(Article.url)).scalars() if u}
        article_ids = session.execute(select(Article.id)).scalars().all()
    assert len(keys) > 20
    all_messages = []
    for key in keys:
        info = knowledge.entity(key)
        all_messages += commands.handle_callback(f"b|{key}", USER).messages
        all_messages += commands.handle_callback(f"tl|{key}|1", USER).messages
        all_messages += commands.handle_callback(f"src|{key}", USER).messages
        assert info is not None
    for article_id in article_ids:
        all_messages += commands.handle_text(f"/article_{article_id}", USER)
    for command in ("/countries", "/topics", "/latest", "/help", "/start", "/search caspian exercises"):
        all_messages += commands.handle_text(command, USER)
    check_messages(all_messages)
    for message in all_messages:
        for url in re.findall(r'href="([^"]+)"', message.text) + re.findall(r"https?://\S+", message.text):
            assert url in stored_urls, url


def test_timeline_pages_edit_in_place(commands):
    first = commands.handle_callback("tl|c:AZ|1", USER)
    (message,) = first.messages
    assert not message.edit and "page 1 of" in message.text
    older = [b for row in message.reply_markup["inline_keyboard"] for b in row if b["text"].startswith("Older")]
    assert older, "Azerbaijan has more than one page of events"
    second = commands.handle_callback(older[0]["callback_data"], USER)
    assert second.messages[0].edit and "page 2 of" in second.messages[0].text


def test_article_in_full_with_bio(commands, loaded):
    with Session(loaded) as session:
        article = session.execute(select(Article).where(Article.author == "Eduard Abrahamyan")).scalars().one()
    texts = check_messages(commands.handle_text(f"/article {article.id}", USER))
    whole = "\n".join(texts)
    assert "Russia Reengages with Armenia" in whole
    for section in ("Background", "Implications", "Conclusions", "Author"):
        assert section in whole
    assert "Senior Research Fellow" in whole
    (missing,) = check_messages(commands.handle_text("/article 99999", USER))
    assert "no article 99999" in missing


def test_search_finds_and_highlights(commands):
    (text,) = check_messages(commands.handle_text("/search Metsamor", USER))
    assert "Russia Reengages with Armenia" in text and "Metsamor" in text
    (none,) = check_messages(commands.handle_text("/search zzzyyyxxx", USER))
    assert "Nothing found" in none


def test_search_is_bounded_in_time(sqlite_engine, knowledge, monkeypatch):
    from bot.store import search

    ingest_paths(sqlite_engine, [SAMPLE], knowledge)
    monkeypatch.setattr(search, "PROGRESS_EVERY_OPS", 1)
    with Session(sqlite_engine) as session:
        assert search.search_articles(session, "the", limit=5, time_cap_ms=10_000).article_ids
        hits = search.search_articles(session, "the", limit=5, time_cap_ms=0)
    assert hits.timed_out and hits.article_ids == []


def test_coverage_lists(commands, knowledge):
    (countries,) = check_messages(commands.handle_text("/countries", USER))
    assert "Armenia" in countries and "Azerbaijan" in countries
    assert countries.index("Azerbaijan") < countries.index("Armenia")  # 5 analyses before 4
    topics_text = "\n".join(check_messages(commands.handle_text("/topics", USER)))
    assert "Caspian" in topics_text
    for topic in knowledge.topics():
        assert topic.name in topics_text


def test_cli_json_is_exactly_what_the_bot_sends(sqlite_cli):
    assert sqlite_cli("ingest", str(SAMPLE)).exit_code == 0
    result = sqlite_cli("brief", "Armenia", "--json")
    assert result.exit_code == 0
    messages = json.loads(result.stdout)
    assert all(set(m) == {"text", "parse_mode", "reply_markup"} for m in messages)
    assert messages[0]["parse_mode"] == "HTML"
    for message in messages:
        validate(message["text"])
    plain = sqlite_cli("brief", "Armenia")
    assert "Key developments" in plain.stdout and "<b>" not in plain.stdout
    assert sqlite_cli("brief", "Narnia").exit_code == 1


def test_well_covered_entities_get_two_to_four_situation_sentences(loaded, knowledge):
    with Session(loaded) as session:
        keys = session.execute(select(EntityStats.entity_key).where(EntityStats.article_count >= 3)).scalars().all()
        assert len(keys) >= 8
        for key in keys:
            briefing = compose.compose_briefing(session, knowledge, key, TODAY)
            assert 2 <= len(briefing.situation) <= 4, key
            situation = {q.text for q in briefing.situation}
            assert not situation & {d.quote.text for d in briefing.developments}, key
