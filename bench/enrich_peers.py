"""Briefbot's country finding against two peers, on the same gold, and Briefbot's throughput.

    .venv/bin/python bench/enrich_peers.py [--articles 2000] [--seed 0]

What is measured, and why it is fair:

1. Country mentions on the five gold articles (tests/gold/*.yaml; the capture is split by
   bot.ingest.capture.parse_capture). Every system gets the same input: the title and the section
   texts, never the author's bio. Predicted and gold sets of ISO alpha-2 codes are compared per
   article and micro-averaged.
   - geotext 0.4: GeoText(text).country_mentions, the countries it finds by name plus the
     countries of the cities it finds. That is what geotext is for.
   - country-converter (coco): a name *resolver*, not an extractor. It gets every capitalised
     n-gram of one to four words of the text (the candidate names an extractor would have to try;
     "the" is allowed inside, as in "the Kremlin") and each one it resolves to an ISO code counts as
     a mention. Without that candidate step coco cannot be compared at all.
   - Briefbot: enrich(), the countries it reports (with sentences, dates, figures and scores:
     the whole enrichment); and "scan only", Knowledge.scan over the text as one unit, the
     country-finding step alone, which is what geotext does.
2. Name resolution: a fixed list of surface forms analysts of the region use (names, demonyms,
   capitals and seats of power, places), each with the country it denotes, and forms that denote
   no country. coco.convert against Knowledge.lookup, exact answers only.
3. Throughput: articles per second of CPU time (one core) on the five gold articles for each
   system, and Briefbot's enrich() on generated articles (bench.corpus, default 2,000): as installed
   (bot/enrich compiled by mypyc, see setup.py) and, in a child process, the same source run as
   plain Python, so the two figures come from the same machine at the same time (these machines
   drift; the ratio holds better than either figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The pure-Python child points SOURCE at a copy of bot/ without the compiled modules.
SOURCE = Path(os.environ.get("BRIEFBOT_BENCH_SOURCE", ROOT))
sys.path.insert(0, str(SOURCE))
sys.path.insert(1, str(ROOT))

from bench.corpus import generate_articles  # noqa: E402
from bot.enrich import (  # noqa: E402
    Knowledge,
    compiled_modules,
    enrich,
    infer_as_of_date,
    load_knowledge,
)
from bot.enrich.model import Section  # noqa: E402

GOLD = ROOT / "tests" / "gold"
CORPUS = ROOT / "data" / "cacianalyst-2025-sep-nov.txt"

# (surface form, ISO alpha-2 or None for "no country"), as written in analyses of the region.
SURFACE_FORMS: tuple[tuple[str, str | None], ...] = (
    ("Türkiye", "TR"), ("Turkey", "TR"), ("Turkish", "TR"), ("Ankara", "TR"),
    ("Azerbaijan", "AZ"), ("Azerbaijani", "AZ"), ("Azeri", "AZ"), ("Baku", "AZ"),
    ("Nakhchivan", "AZ"), ("Nagorno-Karabakh", "AZ"), ("Armenia", "AM"), ("Armenian", "AM"),
    ("Yerevan", "AM"), ("Syunik", "AM"), ("Georgia", "GE"), ("Georgian", "GE"), ("Tbilisi", "GE"),
    ("Russia", "RU"), ("Russian Federation", "RU"), ("Russian", "RU"), ("Moscow", "RU"),
    ("the Kremlin", "RU"), ("Kazan", "RU"), ("Iran", "IR"), ("Islamic Republic of Iran", "IR"),
    ("Iranian", "IR"), ("Tehran", "IR"), ("Kazakhstan", "KZ"), ("Kazakh", "KZ"), ("Astana", "KZ"),
    ("Aktau", "KZ"), ("Uzbekistan", "UZ"), ("Uzbek", "UZ"), ("Tashkent", "UZ"),
    ("Kyrgyzstan", "KG"), ("Kyrgyz Republic", "KG"), ("Kyrgyz", "KG"), ("Bishkek", "KG"),
    ("Tajikistan", "TJ"), ("Tajik", "TJ"), ("Dushanbe", "TJ"), ("Turkmenistan", "TM"),
    ("Turkmen", "TM"), ("Ashgabat", "TM"), ("China", "CN"), ("Chinese", "CN"), ("Beijing", "CN"),
    ("United States", "US"), ("U.S.", "US"), ("America", "US"), ("Washington", "US"),
    ("Pakistan", "PK"), ("Pakistani", "PK"), ("Islamabad", "PK"), ("Afghanistan", "AF"),
    ("Ukraine", "UA"), ("Ukrainian", "UA"), ("Kyiv", "UA"), ("Israel", "IL"), ("Israeli", "IL"),
    ("India", "IN"), ("Indian", "IN"), ("Moldova", "MD"), ("Belarus", "BY"), ("Mongolia", "MN"),
    ("Turkic", None), ("Caspian Sea", None), ("Indian Ocean", None), ("Soviet Union", None),
    ("South Caucasus", None), ("Central Asia", None), ("Persian Gulf", None), ("Black Sea", None),
)  # fmt: skip

_CANDIDATE_WORD = re.compile(r"[A-Z][\w’'.-]*|the|of|and")


def load_gold() -> list[dict]:
    return [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(GOLD.glob("*.yaml"))
        if path.name != "fixtures.yaml"
    ]


def gold_articles() -> list[tuple[dict, str | None, tuple[Section, ...], dt.date | None]]:
    from bot.ingest.capture import parse_capture

    records = parse_capture(CORPUS.read_text(encoding="utf-8"), infer_date=infer_as_of_date)
    result = []
    for gold in load_gold():
        start = " ".join(gold["lede_starts"].split())
        record = next(
            r for r in records if " ".join(r.sections[0].text.split()).startswith(start)
        )
        result.append((gold, record.title, record.sections, record.published))
    return result


def article_text(title: str | None, sections: Sequence[Section]) -> str:
    return "\n\n".join([title or "", *(s.text for s in sections)])


def capitalised_ngrams(text: str, longest: int = 4) -> set[str]:
    """Candidate names: runs of one to four words that start and end with a capital letter."""
    candidates: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = [w.strip(",;:()“”\"’'") for w in sentence.split()]
        for i, first in enumerate(words):
            if not first[:1].isupper() and first != "the":
                continue
            for n in range(1, longest + 1):
                gram = words[i : i + n]
                if len(gram) < n or not gram[-1][:1].isupper():
                    continue
                if all(_CANDIDATE_WORD.fullmatch(w) for w in gram):
                    candidates.add(" ".join(gram).rstrip("."))
    return candidates


class Scores:
    def __init__(self) -> None:
        self.right = self.found = self.gold = 0
        self.cpu = 0.0
        self.articles = 0

    def add(self, predicted: set[str], gold: set[str]) -> None:
        self.right += len(predicted & gold)
        self.found += len(predicted)
        self.gold += len(gold)

    def line(self, name: str) -> str:
        precision = self.right / self.found if self.found else 1.0
        recall = self.right / self.gold if self.gold else 1.0
        speed = self.articles / self.cpu if self.cpu else float("inf")
        return f"{name:<20} P={precision:.3f} R={recall:.3f}  {speed:>10,.0f} articles/s"


def timed(function: Callable[[], set[str]], repeat: int) -> tuple[set[str], float]:
    start = time.process_time()
    for _ in range(repeat):
        result = function()
    return result, (time.process_time() - start) / repeat


def compare_extractors(knowledge: Knowledge, repeat: int) -> None:
    from geotext import GeoText

    coco = _coco()
    articles = gold_articles()
    systems: dict[str, Callable[[str | None, Sequence[Section], dt.date | None], set[str]]] = {
        "Briefbot": lambda t, s, p: {
            e.key[2:] for e in enrich(t, s, p, knowledge).entities if e.key.startswith("c:")
        },
        "Briefbot (scan only)": lambda t, s, p: {
            k[2:] for k in knowledge.scan([article_text(t, s)])[0][0] if k.startswith("c:")
        },
        "geotext": lambda t, s, p: set(GeoText(article_text(t, s)).country_mentions),
        "country-converter": lambda t, s, p: _coco_codes(coco, capitalised_ngrams(article_text(t, s))),
    }
    print("Country mentions on the 5 gold articles (micro-averaged; CPU time, one core)")
    for name, system in systems.items():
        scores = Scores()
        for gold, title, sections, published in articles:
            found, seconds = timed(lambda: system(title, sections, published), repeat)  # noqa: B023
            scores.add(found, set(gold["countries"]))
            scores.cpu += seconds
            scores.articles += 1
        print("  " + scores.line(name))


def compare_resolvers(knowledge: Knowledge) -> None:
    coco = _coco()
    systems: dict[str, Callable[[str], str | None]] = {
        "Briefbot lookup": lambda form: _single(k[2:] for k in knowledge.lookup(form) if k.startswith("c:")),
        "country-converter": lambda form: _single(_coco_codes(coco, [form])),
    }
    print(f"Name resolution on {len(SURFACE_FORMS)} surface forms (exact answer, or no country)")
    for name, resolve in systems.items():
        right = sum(1 for form, code in SURFACE_FORMS if resolve(form) == code)
        wrong = [form for form, code in SURFACE_FORMS if resolve(form) != code]
        print(f"  {name:<20} {right}/{len(SURFACE_FORMS)} right; wrong: {', '.join(wrong) or '-'}")


def throughput(knowledge: Knowledge, count: int, seed: int) -> None:
    rate, words = enrich_rate(knowledge, count, seed)
    build = f"compiled ({len(compiled_modules())} modules)" if compiled_modules() else "pure Python"
    print(
        f"Briefbot enrich() on {count:,} generated articles (~{words:.0f} words each), "
        "best of 3, CPU time, one core:"
    )
    print(f"  {'as installed, ' + build:<36} {rate:>7,.0f} articles/s")
    if compiled_modules():
        pure = pure_python_rate(count, seed)
        print(f"  {'the same source as pure Python':<36} {pure:>7,.0f} articles/s  (compiled: {rate / pure:.2f}x)")


def pure_python_rate(count: int, seed: int) -> float:
    """enrich_rate in a child process that imports bot/ from a copy holding only the .py files."""
    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree(ROOT / "bot", Path(copy) / "bot", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        result = subprocess.run(
            [sys.executable, __file__, "--rate-only", "--articles", str(count), "--seed", str(seed)],
            env={**os.environ, "BRIEFBOT_BENCH_SOURCE": copy},
            capture_output=True,
            text=True,
            check=True,
        )
    return float(result.stdout.split()[0])


def enrich_rate(knowledge: Knowledge, count: int, seed: int) -> tuple[float, float]:
    """Best of three: articles per CPU second, and the mean words per article."""
    articles = [
        (
            a["title"],
            tuple(Section(s["name"], s["text"]) for s in a["sections"]),
            dt.date.fromisoformat(a["published"]),
        )
        for a in generate_articles(count, seed=seed)
    ]
    words = sum(len(s.text.split()) for _, sections, _ in articles for s in sections) / len(articles)
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for title, sections, published in articles:
            enrich(title, sections, published, knowledge)
        best = max(best, len(articles) / (time.process_time() - start))
    return best, words


def _coco():
    import country_converter

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return country_converter.CountryConverter()


def _coco_codes(coco, names: Iterable[str]) -> set[str]:
    names = list(names)
    if not names:
        return set()
    converted = coco.convert(names=names, to="ISO2", not_found=None)
    if isinstance(converted, str):
        converted = [converted]
    return {
        code
        for name, code in zip(names, converted, strict=True)
        if isinstance(code, str) and code != name and re.fullmatch(r"[A-Z]{2}", code)
    }


def _single(codes: Iterable[str]) -> str | None:
    found = sorted(set(codes))
    return found[0] if len(found) == 1 else None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="generated articles to time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs per gold article when timing")
    parser.add_argument("--rate-only", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    start = time.process_time()
    knowledge = load_knowledge(ROOT / "data")
    if args.rate_only:
        print(enrich_rate(knowledge, args.articles, args.seed)[0])
        return
    print(f"load_knowledge: {1000 * (time.process_time() - start):.0f} ms CPU (once per process)")
    compare_extractors(knowledge, args.repeat)
    compare_resolvers(knowledge)
    throughput(knowledge, args.articles, args.seed)


if __name__ == "__main__":
    main()
