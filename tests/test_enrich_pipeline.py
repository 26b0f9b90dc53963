"""enrich(): the shape of an Enrichment, scoring and primaries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.enrich import enrich, load_knowledge
from bot.enrich.model import BACKGROUND, CONCLUSIONS, LEDE, Enrichment, Section

DATA = Path(__file__).resolve().parents[1] / "data"

ARTICLE = [
    Section(LEDE, "Armenia and Russia met in Moscow on October 8, 2024. Yerevan will seek more."),
    Section(
        BACKGROUND,
        "Russia remains Armenia's main trading partner, with trade turnover of US$ 12.4 billion. "
        "The Kremlin watched Baku.\n\nIn July, Pashinyan went to Kazan for the BRICS summit. "
        "Georgia stayed away.",
    ),
    Section(CONCLUSIONS, "Armenia–Russia ties could deepen. Moscow and Yerevan agree."),
]


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(DATA)


@pytest.fixture(scope="module")
def result(knowledge) -> Enrichment:
    return enrich("Russia Reengages with Armenia", ARTICLE, dt.date(2025, 11, 6), knowledge)


def test_sentences(result: Enrichment) -> None:
    assert [s.index for s in result.sentences] == list(range(len(result.sentences)))
    assert [(s.section, s.paragraph) for s in result.sentences] == [
        (LEDE, 0), (LEDE, 0), (BACKGROUND, 0), (BACKGROUND, 0), (BACKGROUND, 1), (BACKGROUND, 1),
        (CONCLUSIONS, 0), (CONCLUSIONS, 0),
    ]  # fmt: skip
    assert result.sentences[0].entities == ("c:AM", "c:RU")
    assert result.sentences[3].entities == ("c:AZ", "c:RU")
    assert result.sentences[4].entities == ("c:RU", "o:BRICS", "t:brics")
    assert [s.forward_looking for s in result.sentences] == [False, True, False, False, False, False, True, False]
    assert all(list(s.entities) == sorted(s.entities) for s in result.sentences)


def test_scores(result: Enrichment) -> None:
    scores = {s.key: s for s in result.entities}
    assert scores["c:RU"].mentions == 8 and scores["c:AM"].mentions == 6
    assert scores["c:RU"].salience == 1.0
    assert all(0.0 <= s.salience <= 1.0 for s in result.entities)
    assert {k for k, s in scores.items() if s.primary and k.startswith("c:")} == {"c:RU", "c:AM"}
    assert not scores["c:GE"].primary and not scores["c:AZ"].primary
    assert scores["t:trade"].relevant and not scores["t:brics"].relevant
    kinds = [s.key[:2] for s in result.entities]
    assert kinds == sorted(kinds, key=["c:", "o:", "t:"].index)


def test_title_and_lede_weigh_more(knowledge) -> None:
    body = "Georgia, Georgia, Georgia and Georgia discussed things."
    sections = [Section(LEDE, "Iran spoke."), Section(BACKGROUND, body)]
    scores = {s.key: s for s in enrich("Iran's choice", sections, None, knowledge).entities}
    assert scores["c:GE"].mentions == 4 and scores["c:IR"].mentions == 2
    assert scores["c:IR"].salience == 1.0  # 3 (title) + 2 (lede) against 4 x 1 (body)
    assert scores["c:GE"].salience == 0.8


def test_at_most_three_primary_per_kind(knowledge) -> None:
    text = " ".join(["Armenia, Azerbaijan, Georgia, Iran and Turkey met."] * 5)
    result = enrich(None, [Section(LEDE, text)], None, knowledge)
    for prefix in ("c:", "o:", "t:"):
        assert sum(1 for s in result.entities if s.primary and s.key.startswith(prefix)) <= 3


def test_events_and_figures(result: Enrichment) -> None:
    assert [(e.date, e.precision, e.year_inferred) for e in result.events] == [
        (dt.date(2024, 10, 8), "day", False),
        (dt.date(2025, 7, 1), "month", True),
    ]
    assert result.events[0].entities == ("c:AM", "c:RU")
    assert [(f.phrase, f.sentence_index, f.entities) for f in result.figures] == [
        ("US$ 12.4 billion", 2, ("c:AM", "c:RU", "t:trade")),
    ]


def test_empty_article(knowledge) -> None:
    empty = enrich(None, [], None, knowledge)
    assert empty == Enrichment((), (), (), ())
    blank = enrich("", [Section(LEDE, "  \n\n ")], dt.date(2025, 1, 1), knowledge)
    assert blank.sentences == ()


def test_title_only_counts(knowledge) -> None:
    result = enrich("Kazakhstan and the Caspian", [Section(LEDE, "Nothing named here.")], None, knowledge)
    scores = {s.key: s for s in result.entities}
    assert scores["c:KZ"].primary and scores["t:caspian"].relevant
    assert result.sentences[0].entities == ()


def test_enrichment_leaves_no_cyclic_garbage_and_the_collector_as_it_was(knowledge) -> None:
    """enrich() pauses the cyclic collector: that is only sound if what it builds has no cycles."""
    import gc

    from bench.corpus import generate_articles

    articles = [
        (a["title"], [Section(s["name"], s["text"]) for s in a["sections"]], dt.date.fromisoformat(a["published"]))
        for a in generate_articles(20, seed=5)
    ]
    enrich(*articles[0], knowledge)  # anything cached on first use is made before counting
    gc.collect()
    assert gc.isenabled()
    for title, sections, published in articles:
        enrich(title, sections, published, knowledge)
    assert gc.isenabled()
    assert gc.collect() == 0  # nothing unreachable: reference counting freed it all

    gc.disable()
    try:
        enrich(*articles[0], knowledge)
        assert not gc.isenabled()  # a caller that keeps it off keeps it off
    finally:
        gc.enable()
