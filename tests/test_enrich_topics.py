"""Topics: loading data/topics.yaml, phrase matching, patterns, relevance, live additions."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.enrich import enrich, load_knowledge
from bot.enrich.model import BACKGROUND, LEDE, Section
from bot.enrich.topics import load_topics, plural_forms, topic_is_relevant

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(DATA)


def topic_scores(knowledge, lede: str, body: str = "", title: str | None = None) -> dict:
    sections = [Section(LEDE, lede)] + ([Section(BACKGROUND, body)] if body else [])
    result = enrich(title, sections, dt.date(2025, 6, 1), knowledge)
    return {s.key: s for s in result.entities if s.key.startswith("t:")}


def test_topics_yaml_loads() -> None:
    topics = {t.key: t for t in load_topics(DATA / "topics.yaml")}
    assert topics["t:tripp"].name
    assert "t:peace-process" in topics["t:tripp"].related
    assert all(t.phrases for t in topics.values())


def test_plural_forms() -> None:
    assert plural_forms("pipeline") == ("pipeline", "pipelines")
    assert plural_forms("gas pipeline") == ("gas pipeline", "gas pipelines")
    assert plural_forms("trade route") == ("trade route", "trade routes")
    assert plural_forms("sanctions") == ("sanctions",)
    assert plural_forms("TRIPP") == ("TRIPP",)
    assert plural_forms("embargo") == ("embargo", "embargos")
    assert plural_forms("refinery") == ("refinery", "refineries")


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("The Trump Route for International Peace and Prosperity (TRIPP) opens.", "t:tripp"),
        ("The Zangezur corridor is contested.", "t:tripp"),
        ("Cargo moves on the Trans-Caspian International Transport Route.", "t:middle-corridor"),
        ("The International North–South Transport Corridor (INSTC) grows.", "t:instc"),
        ("Shipping on the North-South corridor rose.", "t:instc"),
        ("New gas pipelines and hydrocarbons exports.", "t:energy"),
        ("Joint naval exercises and air defense drills.", "t:security"),
        ("Sanction-evasion networks moved embargoed gold.", "t:sanctions"),
        ("Parliamentary elections are due.", "t:elections"),
        ("The peace treaty and normalization talks.", "t:peace-process"),
        ("China's Belt and Road Initiative (BRI) expands.", "t:bri"),
        ("The BRICS summit in Kazan.", "t:brics"),
        ("The CSTO and the CIS met.", "t:cis-csto"),
        ("Armenia's EU membership bid and European integration.", "t:eu-integration"),
        ("The Metsamor reactor and uranium enrichment.", "t:nuclear"),
        ("Trade turnover and re-exports rose.", "t:trade"),
        ("The Caspian Sea littoral states met.", "t:caspian"),
    ],
)
def test_phrases_find_topics(knowledge, text: str, topic: str) -> None:
    scores = topic_scores(knowledge, text)
    assert topic in scores and scores[topic].relevant


def test_trans_caspian_route_is_not_the_caspian(knowledge) -> None:
    scores = topic_scores(knowledge, "Goods travel the Trans-Caspian International Transport Route.")
    assert "t:middle-corridor" in scores and "t:caspian" not in scores


def test_relevance_threshold(knowledge) -> None:
    body_once = topic_scores(knowledge, "Armenia met Georgia.", "They discussed sanctions.")
    assert not body_once["t:sanctions"].relevant and not body_once["t:sanctions"].primary
    body_twice = topic_scores(knowledge, "Armenia met Georgia.", "Sanctions. More sanctions.")
    assert body_twice["t:sanctions"].relevant
    lede_once = topic_scores(knowledge, "Sanctions bite.", "Armenia met Georgia.")
    assert lede_once["t:sanctions"].relevant
    assert topic_is_relevant(2, 0) and topic_is_relevant(1, 1) and not topic_is_relevant(1, 0)


def test_a_topic_added_to_the_yaml_is_live(tmp_path: Path) -> None:
    for name in ("countries.yaml", "organisations.yaml", "topics.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
    with (tmp_path / "topics.yaml").open("a", encoding="utf-8") as out:
        out.write(
            "  - key: water\n"
            "    name: Water\n"
            "    emoji: \"💧\"\n"
            "    description: Transboundary water\n"
            "    phrases: [water sharing, Rogun dam]\n"
            "    patterns: ['\\bAmu ?Darya\\b', '\\bSyr Darya\\b']\n"
        )
    knowledge = load_knowledge(tmp_path)
    assert knowledge.entity("t:water") is not None
    assert knowledge.lookup("water") == ["t:water"]
    scores = topic_scores(knowledge, "Water sharing on the Amu Darya and the Syr Darya. The Rogun dam.")
    assert scores["t:water"].mentions == 4 and scores["t:water"].primary


def test_bad_pattern_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text(
        "topics:\n  - key: broken\n    phrases: [x]\n    patterns: ['(unclosed']\n", encoding="utf-8"
    )
    with pytest.raises(Exception):  # noqa: B017 - re.error, raised while loading
        load_topics(tmp_path / "topics.yaml")
