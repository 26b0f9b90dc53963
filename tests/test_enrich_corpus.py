"""bench/corpus.py: the synthetic articles every bench uses, and enrich() over them."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

from bot.enrich import enrich, load_knowledge, split_sentences
from bot.enrich.model import Section

ROOT = Path(__file__).resolve().parents[1]


def _corpus_module():
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _corpus_module()


def test_articles_have_the_promised_shape() -> None:
    articles = list(corpus.generate_articles(50, seed=3))
    assert len(articles) == 50
    for article in articles:
        assert set(article) == {"title", "author", "published", "sections", "author_bio", "url", "category"}
        published = dt.date.fromisoformat(article["published"])
        assert dt.date(2015, 1, 1) <= published <= dt.date(2025, 12, 31)
        assert [s["name"] for s in article["sections"]] == ["Lede", "Background", "Implications", "Conclusions"]
        assert all(set(s) == {"name", "text"} and s["text"].strip() for s in article["sections"])
        assert 600 <= sum(len(s["text"].split()) for s in article["sections"]) <= 900
        assert article["url"] is None
        assert article["title"] and article["author"] and article["author_bio"]


def test_deterministic_by_seed_and_urls_on_request() -> None:
    assert list(corpus.generate_articles(5, seed=7)) == list(corpus.generate_articles(5, seed=7))
    assert list(corpus.generate_articles(5, seed=7)) != list(corpus.generate_articles(5, seed=8))
    urls = [a["url"] for a in corpus.generate_articles(5, seed=7, urls=True)]
    assert all(url.startswith("https://example.org/") for url in urls)
    assert len(set(urls)) == 5


def test_enrich_reads_generated_articles_sensibly() -> None:
    knowledge = load_knowledge(ROOT / "data")
    for article in corpus.generate_articles(100, seed=1):
        sections = [Section(s["name"], s["text"]) for s in article["sections"]]
        published = dt.date.fromisoformat(article["published"])
        result = enrich(article["title"], sections, published, knowledge)
        text = " ".join(" ".join(s.text.split()) for s in sections)
        assert " ".join(s.text for s in result.sentences) == text
        assert sum(1 for s in result.entities if s.primary and s.key.startswith("c:")) >= 1
        assert result.events and result.figures
        for event in result.events:
            if event.year_inferred and not result.sentences[event.sentence_index].forward_looking:
                assert event.date <= published
        assert len(result.sentences) == sum(len(split_sentences(s.text)) for s in sections)
