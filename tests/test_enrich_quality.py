"""Enrichment quality against the gold annotations in tests/gold/ (run with -s to see the figures).

The five articles of data/cacianalyst-2025-sep-nov.txt are split by the real capture parser when it
is there (bot.ingest.capture.parse_capture, with infer_as_of_date for captures that lost their date
line) and by a small splitter of this file otherwise. Thresholds: countries P >= 0.95 and R >= 0.90
(micro-averaged), primary countries exact in at least 4 of 5 articles, topics P and R >= 0.85,
at least 80% of gold events found with the right date and precision.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.enrich import enrich, infer_as_of_date, load_knowledge
from bot.enrich.model import BACKGROUND, CONCLUSIONS, IMPLICATIONS, LEDE, Enrichment, Section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
GOLD = Path(__file__).resolve().parent / "gold"
CORPUS = DATA / "cacianalyst-2025-sep-nov.txt"


@dataclass(frozen=True)
class Article:
    title: str | None
    author: str | None
    published: dt.date | None
    sections: tuple[Section, ...]


_LABELS = {"BACKGROUND": BACKGROUND, "IMPLICATIONS": IMPLICATIONS, "CONCLUSIONS": CONCLUSIONS}
_DATE_LINE = re.compile(r"^\w+day, (\d{2}) (\w+) (\d{4}) \d{2}:\d{2}$")


def split_capture(text: str) -> list[Article]:
    """A minimal reading of the capture format, for when the real parser is not there."""
    articles: list[Article] = []
    for chunk in text.split("Published in Analytical Articles"):
        lines = [" ".join(line.split()) for line in chunk.splitlines()]
        byline = next((i for i, line in enumerate(lines) if line.startswith("By ")), None)
        if byline is None:
            continue
        head = [line for line in lines[:byline] if line]
        published = None
        title = None
        for line in head:
            match = _DATE_LINE.match(line)
            if match:
                published = dt.datetime.strptime(" ".join(match.groups()), "%d %B %Y").date()
            else:
                title = line
        paragraphs: dict[str, list[str]] = {LEDE: []}
        current = LEDE
        for line in lines[byline + 1 :]:
            if not line or line.startswith("Credit:") or line.startswith("Flags "):
                continue
            if line.startswith(("AUTHOR’S BIO", "AUTHOR'S BIO")):
                break
            label, _, rest = line.partition(":")
            if label in _LABELS:
                current = _LABELS[label]
                paragraphs.setdefault(current, [])
                line = rest.strip()
                if not line:
                    continue
            paragraphs[current].append(line)
        sections = tuple(Section(name, "\n\n".join(ps)) for name, ps in paragraphs.items() if ps)
        articles.append(Article(title, lines[byline][3:].strip(), published, sections))
    return articles


def load_articles() -> list[Article]:
    text = CORPUS.read_text(encoding="utf-8")
    try:
        from bot.ingest.capture import parse_capture
    except ImportError:
        parsed = split_capture(text)
        return [
            Article(a.title, a.author, a.published or infer_as_of_date(a.sections), a.sections)
            for a in parsed
        ]
    return [
        Article(r.title, r.author, r.published, r.sections)
        for r in parse_capture(text, infer_date=infer_as_of_date)
    ]


def _normal(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def load_gold() -> list[dict]:
    return [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(GOLD.glob("*.yaml"))
        if path.name != "fixtures.yaml"
    ]


def article_for(gold: dict, articles: Iterable[Article]) -> Article:
    start = _normal(gold["lede_starts"])
    for article in articles:
        if article.sections and _normal(article.sections[0].text).startswith(start):
            return article
    raise LookupError(f"no article starts with {start!r}")


@dataclass
class Tally:
    true_pos: int = 0
    predicted: int = 0
    gold: int = 0

    def add(self, predicted: set, gold: set) -> None:
        self.true_pos += len(predicted & gold)
        self.predicted += len(predicted)
        self.gold += len(gold)

    @property
    def precision(self) -> float:
        return self.true_pos / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / self.gold if self.gold else 1.0

    def line(self, name: str) -> str:
        return (
            f"{name:<22} P={self.precision:.3f} R={self.recall:.3f} "
            f"({self.true_pos} right, {self.predicted} found, {self.gold} gold)"
        )


def keys_of(enrichment: Enrichment, prefix: str, *, primary: bool = False) -> set[str]:
    return {
        s.key.removeprefix(prefix)
        for s in enrichment.entities
        if s.key.startswith(prefix) and s.relevant and (s.primary or not primary)
    }


def match_events(enrichment: Enrichment, gold_events: list[dict]) -> int:
    """Gold events found: same date and precision, in a sentence containing the gold words."""
    unused = list(enrichment.events)
    found = 0
    for event in gold_events:
        date = dt.date.fromisoformat(str(event["date"]))
        words = _normal(event["sentence"])
        for candidate in unused:
            sentence = _normal(enrichment.sentences[candidate.sentence_index].text)
            if candidate.date == date and candidate.precision == event["precision"] and words in sentence:
                unused.remove(candidate)
                found += 1
                break
    return found


def match_figures(enrichment: Enrichment, gold_figures: list[str]) -> int:
    unused = [_normal(f.phrase) for f in enrichment.figures]
    found = 0
    for phrase in gold_figures:
        wanted = _normal(phrase)
        hit = next((p for p in unused if wanted in p or p in wanted), None)
        if hit is not None:
            unused.remove(hit)
            found += 1
    return found


@pytest.fixture(scope="module")
def report() -> dict:
    knowledge = load_knowledge(DATA)
    articles = load_articles()
    countries, orgs, topics = Tally(), Tally(), Tally()
    events_found = events_gold = events_predicted = 0
    figures_found = figures_gold = figures_predicted = 0
    primary_right = 0
    misses: list[str] = []
    for gold in load_gold():
        article = article_for(gold, articles)
        result = enrich(article.title, article.sections, article.published, knowledge)
        name = f"{gold['author']}: {gold['lede_starts'][:30]}"
        got_countries = keys_of(result, "c:")
        countries.add(got_countries, set(gold["countries"]))
        orgs.add(keys_of(result, "o:"), set(gold["organisations"]))
        got_topics = keys_of(result, "t:")
        topics.add(got_topics, set(gold["topics"]))
        got_primary = keys_of(result, "c:", primary=True)
        if got_primary == set(gold["primary_countries"]):
            primary_right += 1
        else:
            misses.append(f"primary {name}: got {sorted(got_primary)}, gold {gold['primary_countries']}")
        for label, got, want in (
            ("countries", got_countries, set(gold["countries"])),
            ("topics", got_topics, set(gold["topics"])),
        ):
            if got != want:
                misses.append(f"{label} {name}: extra {sorted(got - want)}, missing {sorted(want - got)}")
        found = match_events(result, gold["events"])
        events_found += found
        events_gold += len(gold["events"])
        events_predicted += len(result.events)
        if found < len(gold["events"]):
            misses.append(f"events {name}: {found}/{len(gold['events'])}")
        figures_found += match_figures(result, gold["figures"])
        figures_gold += len(gold["figures"])
        figures_predicted += len(result.figures)
    lines = [
        countries.line("countries"),
        orgs.line("organisations"),
        topics.line("topics"),
        f"{'primary countries':<22} {primary_right}/5 articles exactly right",
        f"{'dated events':<22} R={events_found / events_gold:.3f} P={events_found / events_predicted:.3f} "
        f"({events_found} of {events_gold} gold found; {events_predicted} extracted)",
        f"{'key figures':<22} R={figures_found / figures_gold:.3f} P={figures_found / figures_predicted:.3f} "
        f"({figures_found} of {figures_gold} gold found; {figures_predicted} extracted)",
        *misses,
    ]
    print("\nEnrichment quality on tests/gold (5 articles)\n  " + "\n  ".join(lines))
    return {
        "countries": countries,
        "orgs": orgs,
        "topics": topics,
        "primary_right": primary_right,
        "events_recall": events_found / events_gold,
        "figures_recall": figures_found / figures_gold,
    }


def test_gold_covers_the_five_articles() -> None:
    articles = load_articles()
    golds = load_gold()
    assert len(golds) == 5
    assert {id(article_for(g, articles)) for g in golds} == {id(a) for a in articles}


def test_countries(report: dict) -> None:
    assert report["countries"].precision >= 0.95
    assert report["countries"].recall >= 0.90


def test_primary_countries(report: dict) -> None:
    assert report["primary_right"] >= 4


def test_organisations(report: dict) -> None:
    assert report["orgs"].precision >= 0.85
    assert report["orgs"].recall >= 0.85


def test_topics(report: dict) -> None:
    assert report["topics"].precision >= 0.85
    assert report["topics"].recall >= 0.85


def test_dated_events(report: dict) -> None:
    assert report["events_recall"] >= 0.80


def test_key_figures(report: dict) -> None:
    assert report["figures_recall"] >= 0.80


def test_fallback_splitter_agrees_with_the_gold() -> None:
    """The splitter of this file finds the same five articles the gold is keyed by."""
    articles = split_capture(CORPUS.read_text(encoding="utf-8"))
    for gold in load_gold():
        article = article_for(gold, articles)
        assert [s.name for s in article.sections][0] == LEDE
        assert (article.title or None) == gold["title"]
