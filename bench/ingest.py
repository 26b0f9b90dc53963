"""Ingest throughput (articles/s) on a generated corpus, on SQLite and PostgreSQL.

    python bench/ingest.py [--articles 5000] [--per-file 500] [--postgres URL]

Writes the generated corpus as JSON Lines files, then times `ingest_paths` (parse, dedupe,
enrich, store, derived tables; one transaction per file) on a fresh database per backend.
A second pass over the same files measures the idempotent re-ingest (all unchanged).
Prints the figures; docs/performance.md records them. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.corpus import generate_articles  # noqa: E402
from bot.config import PROJECT_ROOT, normalise_database_url  # noqa: E402
from bot.enrich import load_knowledge  # noqa: E402
from bot.ingest.loader import ingest_paths  # noqa: E402
from bot.store.db import make_engine, upgrade  # noqa: E402


def write_corpus(directory: Path, articles: int, per_file: int) -> list[Path]:
    paths, batch = [], []
    for number, article in enumerate(generate_articles(articles, seed=1), start=1):
        batch.append(json.dumps(article, ensure_ascii=False))
        if len(batch) == per_file or number == articles:
            path = directory / f"corpus-{len(paths):04d}.jsonl"
            path.write_text("\n".join(batch) + "\n", encoding="utf-8")
            paths.append(path)
            batch = []
    return paths


def run(label: str, url: str, paths: list[Path], articles: int, knowledge) -> None:  # noqa: ANN001
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    report = ingest_paths(engine, paths, knowledge)
    first = time.perf_counter() - started
    assert report.failed == 0, [f.line for f in report.files if f.error]
    started = time.perf_counter()
    again = ingest_paths(engine, paths, knowledge)
    second = time.perf_counter() - started
    print(
        f"{label:<11} {articles:>6} articles  first load {first:7.1f} s = {articles / first:7.0f} articles/s"
        f"   re-ingest (unchanged) {second:6.1f} s = {articles / second:7.0f} articles/s   [{again.summary}]"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--per-file", type=int, default=500)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL URL (a scratch schema is created and dropped); '' to skip",
    )
    args = parser.parse_args()
    knowledge = load_knowledge(PROJECT_ROOT / "data")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        paths = write_corpus(directory, args.articles, args.per_file)
        print(f"generated {args.articles} articles in {len(paths)} files in {time.perf_counter() - started:.1f} s")
        run("sqlite", f"sqlite:///{directory / 'bench.db'}", paths, args.articles, knowledge)
        if args.postgres:
            base = normalise_database_url(args.postgres)
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(base)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                separator = "&" if "?" in base else "?"
                run("postgresql", f"{base}{separator}options=-csearch_path%3D{schema}", paths, args.articles, knowledge)
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
