"""Briefing latency: compose + render of /brief and /topic, p50 and p99, against a baseline.

    python bench/briefing.py [--sizes 10000 100000] [--requests 300] [--backends sqlite postgresql]

For each corpus size and backend, a generated corpus (bench/corpus.py) is ingested once
(cached: SQLite files in bench/out/, PostgreSQL schemas bench_corpus_N; --fresh rebuilds),
then `compose_briefing` + `Renderer.briefing` are timed for random countries and topics.
The naive baseline answers the same question by scanning the articles at request time
(LIKE over the bodies, then sentences and dates found in Python), as a bot without
precomputed tables would. Prints p50/p99, the growth from the smallest to the largest
corpus, and the ratio to the baseline; docs/performance.md records them. Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.corpus import generate_articles  # noqa: E402
from bot.briefing.compose import compose_briefing  # noqa: E402
from bot.briefing.render import Renderer  # noqa: E402
from bot.config import PROJECT_ROOT, normalise_database_url  # noqa: E402
from bot.enrich import load_knowledge  # noqa: E402
from bot.ingest.loader import ingest_paths  # noqa: E402
from bot.store.db import (  # noqa: E402
    current_revision,
    head_revision,
    make_engine,
    refresh_planner_statistics,
    upgrade,
)

OUT = Path(__file__).resolve().parent / "out"
COUNTRIES = ["c:AM", "c:AZ", "c:GE", "c:KZ", "c:UZ", "c:RU", "c:IR", "c:TR", "c:CN", "c:TM"]
TOPICS = ["t:caspian", "t:energy", "t:security", "t:trade", "t:middle-corridor", "t:tripp", "t:sanctions", "t:bri"]
TODAY = dt.date(2026, 11, 26)


def corpus_engine(backend: str, size: int, postgres: str, fresh: bool, knowledge):  # noqa: ANN001, ANN201
    if backend == "sqlite":
        OUT.mkdir(exist_ok=True)
        path = OUT / f"corpus-{size}.db"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
    else:
        base = normalise_database_url(postgres)
        schema = f"bench_corpus_{size}"
        admin = make_engine(base)
        with admin.begin() as connection:
            if fresh:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        separator = "&" if "?" in base else "?"
        engine = make_engine(f"{base}{separator}options=-csearch_path%3D{schema}")
    ready = current_revision(engine) == head_revision()
    if ready:
        with engine.connect() as connection:
            # The generator repeats an identity now and then; those are updates, not new rows.
            ready = connection.execute(text("SELECT COUNT(*) FROM article")).scalar_one() >= size * 0.99
    if not ready:
        upgrade(engine)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            batch, files = [], []
            for number, article in enumerate(generate_articles(size, seed=7), start=1):
                batch.append(json.dumps(article, ensure_ascii=False))
                if len(batch) == 1000 or number == size:
                    path = Path(tmp) / f"c{len(files):04d}.jsonl"
                    path.write_text("\n".join(batch) + "\n", encoding="utf-8")
                    files.append(path)
                    batch = []
            report = ingest_paths(engine, files, knowledge)
        elapsed = time.perf_counter() - started
        print(f"  built {backend} corpus of {size}: {report.summary} in {elapsed:.0f} s ({size / elapsed:.0f} articles/s)")
    # What every bulk ingest ends with; cached corpora built before that rule get it here.
    refresh_planner_statistics(engine)
    return engine


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_indexed(engine, knowledge, renderer, keys: list[str], requests: int, rng: random.Random) -> list[float]:  # noqa: ANN001
    timings = []
    for _ in range(requests):
        key = rng.choice(keys)
        started = time.perf_counter()
        with Session(engine) as session:
            briefing = compose_briefing(session, knowledge, key, TODAY)
            renderer.briefing(briefing)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
_DATED = re.compile(
    r"\b(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{1,2},)?\s+)?(?:19|20)\d{2}\b"
)


def naive_briefing(engine, knowledge, key: str) -> dict:  # noqa: ANN001
    """What a bot without precomputed tables does: scan every article for the name."""
    name = knowledge.entity(key).name
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, published, body FROM article WHERE body LIKE :pattern"), {"pattern": f"%{name}%"}
        ).all()
    situation, dated, relations = [], [], {}
    others = [e.name for e in knowledge.entities("country") if e.key != key][:60]
    for article_id, _published, body in rows:
        for sentence in _SENTENCE.split(body):
            if name not in sentence:
                continue
            if len(situation) < 4:
                situation.append((article_id, sentence))
            match = _DATED.search(sentence)
            if match:
                dated.append((match.group(0), article_id, sentence))
            for other in others:
                if other in sentence:
                    relations[other] = relations.get(other, 0) + 1
    dated.sort(reverse=True)
    return {"situation": situation, "developments": dated[:8], "relations": sorted(relations.items(), key=lambda kv: -kv[1])[:5]}


def time_naive(engine, knowledge, keys: list[str], requests: int, rng: random.Random) -> list[float]:  # noqa: ANN001
    timings = []
    for _ in range(requests):
        key = rng.choice(keys)
        started = time.perf_counter()
        naive_briefing(engine, knowledge, key)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--baseline-requests", type=int, default=8)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached corpora")
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    knowledge = load_knowledge(PROJECT_ROOT / "data")
    renderer = Renderer(PROJECT_ROOT / "templates")
    results: dict[tuple[str, int, str], tuple[float, float]] = {}
    for backend in args.backends:
        for size in args.sizes:
            engine = corpus_engine(backend, size, args.postgres, args.fresh, knowledge)
            rng = random.Random(size)
            time_indexed(engine, knowledge, renderer, COUNTRIES + TOPICS, 20, rng)  # warm caches
            for label, keys in (("/brief", COUNTRIES), ("/topic", TOPICS)):
                timings = time_indexed(engine, knowledge, renderer, keys, args.requests, rng)
                p50, p99 = statistics.median(timings), percentile(timings, 0.99)
                results[(backend, size, label)] = (p50, p99)
                print(f"{backend:<10} {size:>7} {label:<7} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({args.requests} requests)")
            naive = time_naive(engine, knowledge, COUNTRIES, args.baseline_requests, rng)
            naive_p50 = statistics.median(naive)
            brief_p50 = results[(backend, size, "/brief")][0]
            results[(backend, size, "naive")] = (naive_p50, percentile(naive, 0.99))
            print(
                f"{backend:<10} {size:>7} naive   p50 {naive_p50:7.1f} ms   "
                f"-> indexed /brief is {naive_p50 / brief_p50:5.1f}x faster  ({args.baseline_requests} requests)"
            )
            engine.dispose()
        if len(args.sizes) > 1:
            small, large = min(args.sizes), max(args.sizes)
            for label in ("/brief", "/topic"):
                growth = results[(backend, large, label)][1] / results[(backend, small, label)][1]
                print(f"{backend:<10} {label} p99 growth {small} -> {large}: {growth:.2f}x")


if __name__ == "__main__":
    main()
