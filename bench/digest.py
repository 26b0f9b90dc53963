"""Digest benchmark: compose for many subscribers, then deliver through the local emulator.

    .venv/bin/python bench/digest.py                      # both parts, the issue's sizes
    .venv/bin/python bench/digest.py --subscribers 20000 --chats 300   # quicker

1. Compose: 100,000 subscriptions sharing 50 distinct filter sets, all due at one moment,
   planned into the outbox by `DigestRunner.plan` (one edition composed per filter set and
   window, one delivery row per subscriber). Goal: <= 10 s on SQLite.
2. Deliver: 2,000 private chats through the strict Bot API emulator (Telegram's limits:
   ~30/s overall, 1/s per chat) at the configured DIGEST_SEND_RATE (default 25/s).
   Goals: sustained throughput >= 0.9 of the configured rate, no 429.

Everything runs on 127.0.0.1 and in temporary files; nothing reaches Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.briefing.render import Renderer  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.digest.runner import DigestRunner  # noqa: E402
from bot.digest.sender import make_bot  # noqa: E402
from bot.enrich import load_knowledge  # noqa: E402
from bot.store.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.store.models import Article, Chat, Mention, Subscription, SubscriptionFilter  # noqa: E402

SINCE = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)
KEYWORDS = (
    "pipeline",
    "railway",
    "gas",
    "elections",
    "sanctions",
    "middle corridor",
    "drones",
    "grain",
)


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=url, **overrides)  # type: ignore[call-arg]


def fresh_database(directory: Path, name: str, url: str | None):  # noqa: ANN201
    engine = make_engine(url or f"sqlite:///{directory / name}")
    upgrade(engine)
    return engine


def seed_articles(engine, knowledge, count: int, rng: random.Random) -> None:  # noqa: ANN001
    countries = [e.key for e in knowledge.entities("country")][:40]
    topics = [e.key for e in knowledge.topics()]
    with session_scope(engine) as session:
        for i in range(count):
            ingested = SINCE + dt.timedelta(seconds=rng.randint(1, 7 * 86400 - 1))
            words = " ".join(rng.sample(KEYWORDS, 3))
            article = Article(
                title=f"Analysis {i}: {words}",
                lede=f"An analysis about {words}. It weighs the consequences for the region.",
                sections=[],
                body=f"The {words} question returns. " * 20,
                published=ingested.date(),
                content_hash=f"{i:064d}",
                fingerprint=f"{i:032d}",
                ingested_at=ingested,
                updated_at=ingested,
            )
            session.add(article)
            session.flush()
            for key in {*rng.sample(countries, 3), *rng.sample(topics, 2)}:
                session.add(
                    Mention(
                        article_id=article.id,
                        entity_key=key,
                        mentions=rng.randint(1, 9),
                        salience=rng.random(),
                        is_primary=key.startswith("c:") and rng.random() < 0.5,
                        published=article.published,
                    )
                )


def filter_sets(knowledge, count: int, rng: random.Random) -> list[list[tuple[str, str]]]:  # noqa: ANN001
    countries = [e.key for e in knowledge.entities("country")][:40]
    topics = [e.key for e in knowledge.topics()]
    sets: list[list[tuple[str, str]]] = [[]]  # one set: everything
    seen = {()}
    while len(sets) < count:
        chosen = [("entity", k) for k in rng.sample(countries + topics, rng.randint(1, 3))]
        if rng.random() < 0.4:
            chosen.append(("keyword", rng.choice(KEYWORDS)))
        key = tuple(sorted(chosen))
        if key not in seen:
            seen.add(key)
            sets.append(sorted(set(chosen)))
    return sets


def seed_subscribers(engine, chats: list[int], sets: list[list[tuple[str, str]]]) -> None:  # noqa: ANN001
    now = SINCE
    with session_scope(engine) as session:
        session.execute(
            insert(Chat),
            [{"id": c, "type": "private", "created_at": now, "updated_at": now} for c in chats],
        )
        session.execute(
            insert(Subscription),
            [
                {
                    "id": n,
                    "chat_id": c,
                    "thread_id": 0,
                    "frequency": "weekly",
                    "active": True,
                    "next_due_at": DUE,
                    "since": SINCE,
                    "created_at": now,
                }
                for n, c in enumerate(chats, start=1)
            ],
        )
        rows = [
            {"subscription_id": n, "kind": kind, "value": value}
            for n in range(1, len(chats) + 1)
            for kind, value in sets[(n - 1) % len(sets)]
        ]
        for start in range(0, len(rows), 50_000):
            session.execute(insert(SubscriptionFilter), rows[start : start + 50_000])


def bench_compose(args: argparse.Namespace, knowledge, renderer, directory: Path) -> None:  # noqa: ANN001
    rng = random.Random(7)
    engine = fresh_database(directory, "compose.db", args.database_url)
    seed_articles(engine, knowledge, args.articles, rng)
    sets = filter_sets(knowledge, args.filter_sets, rng)
    seed_subscribers(engine, list(range(10_000_000, 10_000_000 + args.subscribers)), sets)
    runner = DigestRunner(engine, knowledge, renderer, settings_for(str(engine.url)))
    started = time.perf_counter()
    report = runner.plan(DUE)
    elapsed = time.perf_counter() - started
    print(
        f"compose: {args.subscribers} subscribers, {len(sets)} distinct filter sets, {args.articles} articles "
        f"in the window -> {report.editions_composed} editions composed, {report.pending} digests and "
        f"{report.empty} empty planned in {elapsed:.2f} s ({engine.dialect.name}; goal <= 10 s)"
    )
    engine.dispose()


async def bench_send(args: argparse.Namespace, knowledge, renderer, directory: Path) -> None:  # noqa: ANN001
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.emulator import EmulatorThread

    rng = random.Random(11)
    engine = fresh_database(directory, "send.db", args.database_url)
    seed_articles(engine, knowledge, 20, rng)
    with EmulatorThread() as emu:
        chats = [emu.add_private_chat(emu.add_user(f"reader{i}"))["id"] for i in range(args.chats)]
        seed_subscribers(engine, chats, [[]])
        overrides = {"telegram_bot_token": emu.token, "telegram_api_base_url": emu.base_url}
        if args.rate:
            overrides["digest_send_rate"] = args.rate
        settings = settings_for(str(engine.url), **overrides)
        bot = make_bot(emu.token, emu.base_url, connections=9)
        async with bot:
            runner = DigestRunner(engine, knowledge, renderer, settings, bot=bot, max_in_flight=8)
            runner.plan(DUE)
            started = time.perf_counter()
            counts = await runner.deliver(DUE)
            elapsed = time.perf_counter() - started
            stats = runner.last_queue.stats
        runner.leadership.close()
        limited = emu.rate_limited.total
        delivered = sum(len(emu.messages(c)) for c in chats)
    rate = settings.digest_send_rate
    wall_rate = counts.messages / elapsed
    print(
        f"send: {counts.sent} digests ({delivered} messages received) to {args.chats} chats in {elapsed:.1f} s: "
        f"sustained {wall_rate:.2f} msg/s = {wall_rate / rate:.3f} of the configured {rate:g}/s "
        f"(dispatch pace {stats.rate:.2f}/s = {stats.rate / rate:.3f}); 429s: {limited}"
    )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--filter-sets", type=int, default=50)
    parser.add_argument("--articles", type=int, default=300, help="analyses stored in the week")
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument(
        "--rate", type=float, default=None, help="DIGEST_SEND_RATE (default: the setting, 25/s)"
    )
    parser.add_argument("--database-url", default=None, help="default: temporary SQLite files")
    parser.add_argument("--only", choices=["compose", "send"], default=None)
    args = parser.parse_args()
    knowledge = load_knowledge(ROOT / "data")
    renderer = Renderer(ROOT / "templates")
    with tempfile.TemporaryDirectory(prefix="briefbot-bench-") as tmp:
        directory = Path(tmp)
        if args.only in (None, "compose"):
            bench_compose(args, knowledge, renderer, directory)
        if args.only in (None, "send"):
            asyncio.run(bench_send(args, knowledge, renderer, directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
