"""Crashes and concurrency, measured: worker processes killed with SIGKILL mid-run and
restarted, and two worker processes sharing one PostgreSQL database.

The promise under test (see bot/digest/runner.py and docs/digest.md): after any number of
kills and a restart, every chat has its digest; a kill can repeat at most the parts that
were in flight (one per chat, at most `--max-in-flight` in all); nothing is ever
"uncertain" from a crash. The figures are printed so they can be quoted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.chat.commands import Caller
from bot.digest.leader import Leadership
from bot.store.models import Delivery
from bot.wiring import App
from tests.conftest import POSTGRESQL, POSTGRESQL_ONLY
from tests.digest_support import add_articles, make_settings, utc
from tests.emulator import EmulatorThread

pytestmark = pytest.mark.slow

WORKER = Path(__file__).resolve().parent / "digest_worker.py"
T0 = utc(2026, 3, 4, 10)
DUE = "2026-03-09T09:00:00+00:00"
CHATS = 60


def prepare(
    engine: Engine, knowledge, database_url: str, emu: EmulatorThread, chats: int = CHATS
) -> list[int]:  # noqa: ANN001
    app = App(make_settings(database_url, emu.base_url), engine=engine, knowledge=knowledge)
    app.digest.clock = lambda: T0
    ids = []
    for i in range(chats):
        user = emu.add_user(f"reader{i}")
        chat = emu.add_private_chat(user)["id"]
        app.commands.handle_text(
            "/subscribe", Caller(chat_id=chat, chat_type="private", user_id=user["id"])
        )
        ids.append(chat)
    add_articles(
        engine,
        [
            {
                "title": "Armenia and the treaty",
                "ingested_at": utc(2026, 3, 5),
                "entities": {"c:AM": (5, True)},
            },
            {
                "title": "Caspian shipping grows",
                "ingested_at": utc(2026, 3, 6),
                "entities": {"t:caspian": (5, True)},
            },
        ],
    )
    return ids


def worker(
    database_url: str,
    emu: EmulatorThread,
    name: str,
    *extra: str,
    rate: float = 60.0,
    barrier: Path | None = None,
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": emu.token,
        "TELEGRAM_API_BASE_URL": emu.base_url,
        "DIGEST_SEND_RATE": str(rate),
        "DIGEST_PER_CHAT_INTERVAL": "1.0",
        "PYTHONUNBUFFERED": "1",
        **({"DIGEST_WORKER_BARRIER": str(barrier)} if barrier else {}),
    }
    return subprocess.Popen(
        [sys.executable, str(WORKER), "run", "--at", DUE, "--worker", name, "--json", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def digests_per_chat(emu: EmulatorThread, chats: list[int]) -> Counter:
    return Counter(
        {chat: sum("Weekly digest" in m["text"] for m in emu.messages(chat)) for chat in chats}
    )


def statuses(engine: Engine) -> Counter:
    with Session(engine) as session:
        return Counter(session.execute(select(Delivery.status)).scalars())


def finish(process: subprocess.Popen, timeout: float = 60) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out)


def crash_and_restart(
    engine, knowledge, database_url, seed: int, max_in_flight: int, kills: int
) -> dict:  # noqa: ANN001
    rng = random.Random(seed)
    with EmulatorThread(rate_limits=False) as emu:
        chats = prepare(engine, knowledge, database_url, emu)
        done_kills = 0
        for round_number in range(kills):
            process = worker(
                database_url,
                emu,
                f"seed{seed}-round{round_number}",
                "--max-in-flight",
                str(max_in_flight),
            )
            already = len(emu.calls("sendMessage"))
            threshold = already + rng.randint(0, CHATS // 2)
            emu.wait_for_sync(
                lambda e, t=threshold, p=process: (
                    len(e.calls("sendMessage")) >= t or p.poll() is not None
                ),
                timeout=60,
                what=f"{threshold} sends",
            )
            time.sleep(
                rng.uniform(0, 0.02)
            )  # land anywhere in the send cycle, not only after a response
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                done_kills += 1
            process.communicate(timeout=30)
        report = finish(
            worker(database_url, emu, f"seed{seed}-final", "--max-in-flight", str(max_in_flight))
        )
        counts = digests_per_chat(emu, chats)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    with Session(engine) as session:
        flagged = set(
            session.execute(
                select(Delivery.chat_id).where(Delivery.last_error.contains("possible duplicate"))
            ).scalars()
        )
    return {
        "seed": seed,
        "max_in_flight": max_in_flight,
        "kills": done_kills,
        "chats": len(chats),
        "missing": sum(1 for chat in chats if counts[chat] == 0),
        "duplicates": duplicates,
        "resent_after_crash": report["resent_after_crash"],
        "flagged_possible_duplicates": len(flagged),
        "unflagged_duplicates": sum(
            1 for chat, n in counts.items() if n > 1 and chat not in flagged
        ),
        "statuses": dict(statuses(engine)),
    }


@pytest.mark.parametrize(
    ("database_url", "seed", "max_in_flight"),
    # PostgreSQL runs two of the seeds (one of each in-flight setting) to keep the suite short.
    [("sqlite", 1, 1), ("sqlite", 2, 1), ("sqlite", 3, 1), ("sqlite", 4, 4), ("sqlite", 5, 4)]
    + [pytest.param(*POSTGRESQL.values, seed, flight, marks=POSTGRESQL.marks) for seed, flight in ((1, 1), (4, 4))],
    indirect=["database_url"],
)
def test_sigkill_mid_run_then_restart_gives_every_chat_its_digest(
    engine,
    knowledge,
    database_url,
    seed: int,
    max_in_flight: int,
    capsys,  # noqa: ANN001
) -> None:
    result = crash_and_restart(engine, knowledge, database_url, seed, max_in_flight, kills=2)
    with capsys.disabled():
        backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        print(f"\n[digest crash] {backend} {json.dumps(result, sort_keys=True)}")
    assert result["missing"] == 0
    assert result["duplicates"] <= result["kills"] * max_in_flight
    assert result["statuses"] == {"sent": CHATS}
    assert result["unflagged_duplicates"] == 0  # the outbox knows every chat that may have two


@POSTGRESQL_ONLY  # two processes share a database only on PostgreSQL (SQLite: one, documented)
def test_two_worker_processes_on_postgresql_deliver_each_digest_once(
    engine,
    knowledge,
    database_url,
    capsys,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from bot.digest.runner import DigestRunner

    with EmulatorThread(rate_limits=False) as emu:
        chats = prepare(engine, knowledge, database_url, emu)
        # Planned up front, so that both workers find rows to claim from their first batch.
        app = App(make_settings(database_url), engine=engine, knowledge=knowledge)
        DigestRunner(engine, knowledge, app.renderer, app.settings).plan(utc(2026, 3, 9, 9))
        names = ("alpha", "beta")
        barrier = tmp_path / "ready"  # both set up and waiting before either claims
        barrier.write_text(" ".join(names), encoding="utf-8")
        processes = [
            worker(
                database_url, emu, name, "--claim-batch", "3", "--max-in-flight", "2", rate=20.0, barrier=barrier
            )
            for name in names
        ]
        reports = [finish(p) for p in processes]
        counts = digests_per_chat(emu, chats)
    with capsys.disabled():
        print(
            f"\n[digest two workers] sent per worker: {[r['sent'] for r in reports]}, "
            f"leaders: {[r['leader'] for r in reports]}"
        )
    assert sum(r["leader"] for r in reports) >= 1
    assert [counts[chat] for chat in chats] == [1] * CHATS
    assert sum(r["sent"] for r in reports) == CHATS
    assert all(r["sent"] > 0 for r in reports)  # both claimed and sent: SKIP LOCKED shared the work
    assert statuses(engine) == Counter({"sent": CHATS})


@POSTGRESQL_ONLY  # advisory locks are PostgreSQL's
def test_only_one_scheduler_leader_at_a_time(database_url) -> None:  # noqa: ANN001
    from bot.store.db import make_engine

    engines = [make_engine(database_url) for _ in range(2)]
    first, second = Leadership(engines[0], "first"), Leadership(engines[1], "second")
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        assert second.is_alive("first") is True
        first.close()
        assert second.is_alive("first") is False
        assert second.try_lead() is True
    finally:
        first.close()
        second.close()
        for e in engines:
            e.dispose()


@POSTGRESQL_ONLY  # concurrent planners need PostgreSQL
def test_two_planners_in_threads_plan_each_period_once(engine, knowledge, database_url) -> None:  # noqa: ANN001
    """Even without the leader lock, SKIP LOCKED and the unique period keep planning single."""
    from bot.digest.runner import DigestRunner
    from bot.store.db import make_engine

    with EmulatorThread(rate_limits=False) as emu:
        prepare(engine, knowledge, database_url, emu, chats=40)
    app = App(make_settings(database_url), engine=engine, knowledge=knowledge)
    engines = [make_engine(database_url) for _ in range(2)]
    reports = []

    def plan(e: Engine) -> None:
        runner = DigestRunner(e, knowledge, app.renderer, app.settings)
        reports.append(runner.plan(utc(2026, 3, 9, 9)))

    threads = [threading.Thread(target=plan, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert sum(r.pending for r in reports) == 40
    with Session(engine) as session:
        assert len(session.execute(select(Delivery)).scalars().all()) == 40
