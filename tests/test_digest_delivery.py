"""Digests delivered through the strict local Bot API emulator: on time, once, filtered,
paced, and every Telegram error handled as the sender's docstring says.

Time is controlled: `run_once(at=...)` decides what is due; nothing sleeps until a due
time. The only real waits are Telegram's own (a 429's retry_after, a per-chat interval).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.chat.commands import Caller
from bot.digest.runner import DigestRunner
from bot.digest.sender import Verdict, classify, make_bot
from bot.store.models import Chat, Delivery, DigestEdition, Subscription
from bot.wiring import App
from tests.conftest import SQLITE_ONLY
from tests.digest_support import add_articles, deliveries, make_settings, utc
from tests.emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*")

T0 = utc(2026, 3, 4, 10)  # Wednesday; weekly digests are due Monday 9 March 09:00 UTC
DUE = utc(2026, 3, 9, 9)
DAY = dt.timedelta(days=1)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def make_app(engine, knowledge, database_url, emu):  # noqa: ANN001, ANN201
    def build(**overrides: object) -> App:
        app = App(
            make_settings(database_url, emu.base_url, **overrides),
            engine=engine,
            knowledge=knowledge,
        )
        app.digest.clock = lambda: T0
        return app

    return build


@pytest.fixture
def app(make_app) -> App:  # noqa: ANN001
    return make_app()


class Harness:
    """A runner with its own Bot against the emulator."""

    def __init__(self, app: App, emu: BotApiEmulator, **options: object) -> None:
        self.app, self.emu = app, emu
        self.bot = make_bot(
            emu.token, emu.base_url, read_timeout=float(options.pop("read_timeout", 5.0))
        )
        self.runner = DigestRunner(
            app.engine,
            app.knowledge,
            app.renderer,
            app.settings,
            bot=self.bot,
            keep_send_times=True,
            **options,
        )

    async def __aenter__(self) -> Harness:
        await self.bot.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.shutdown()
        self.runner.leadership.close()

    async def run(self, at: dt.datetime):  # noqa: ANN201
        return await self.runner.run_once(at)


def private_chat(emu: BotApiEmulator, name: str = "Ann") -> Caller:
    user = emu.add_user(name)
    chat = emu.add_private_chat(user)
    return Caller(chat_id=chat["id"], chat_type="private", user_id=user["id"])


def subscribe(app: App, caller: Caller, text: str = "/subscribe") -> None:
    app.commands.handle_text(text, caller)


def news(app: App, *specs: tuple[str, dict], after: dt.datetime = T0) -> None:
    add_articles(
        app.engine,
        [
            {"title": title, "ingested_at": after + dt.timedelta(hours=i + 1), "entities": entities}
            for i, (title, entities) in enumerate(specs)
        ],
    )


ARMENIA = ("Armenia and the treaty", {"c:AM": (5, True), "c:AZ": (2, False)})
CASPIAN = ("Caspian shipping grows", {"c:KZ": (5, True), "t:caspian": (4, False)})


async def test_digest_arrives_at_the_due_time_exactly_once(app: App, emu: BotApiEmulator) -> None:
    ann = private_chat(emu)
    subscribe(app, ann)
    news(app, ARMENIA, CASPIAN)
    async with Harness(app, emu) as h:
        early = await h.run(DUE - dt.timedelta(minutes=1))
        assert early.plan.subscriptions == 0 and emu.messages(ann.chat_id) == []
        report = await h.run(DUE)
        assert report.counts.sent == 1
        [message] = emu.messages(ann.chat_id)
        assert "Weekly digest" in message["text"] and "Armenia and the treaty" in message["text"]
        assert "Caspian shipping grows" in message["text"]
        again = await h.run(DUE + dt.timedelta(minutes=5))
        assert again.plan.subscriptions == 0 and again.counts.sent == 0
    assert len(emu.messages(ann.chat_id)) == 1
    [row] = deliveries(app.engine)
    assert (row.status, row.period, row.parts_sent, row.window_end) == ("sent", "2026-W11", 1, DUE)
    with Session(app.engine) as session:
        sub = session.execute(select(Subscription)).scalar_one()
        assert sub.since == DUE and sub.next_due_at == DUE + 7 * DAY
    assert emu.rate_limited.total == 0 and emu.errors == []


async def test_filters_are_respected_and_composed_once_per_filter_set(
    app: App, emu: BotApiEmulator
) -> None:
    chats = {
        name: private_chat(emu, name)
        for name in ("all", "armenia", "caspian", "keyword", "armenia2")
    }
    subscribe(app, chats["all"])
    subscribe(app, chats["armenia"], "/subscribe Armenia")
    subscribe(app, chats["armenia2"], "/subscribe Armenia")
    subscribe(app, chats["caspian"], "/subscribe caspian")
    subscribe(app, chats["keyword"], "/subscribe keyword shipping")
    news(app, ARMENIA, CASPIAN)
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
    assert report.counts.sent == 5 and report.plan.editions_composed == 4

    def text(name: str) -> str:
        return "\n".join(m["text"] for m in emu.messages(chats[name].chat_id))

    assert "Armenia and the treaty" in text("all") and "Caspian shipping" in text("all")
    assert "Armenia and the treaty" in text("armenia") and "Caspian shipping" not in text("armenia")
    assert text("armenia") == text("armenia2")
    assert "Caspian shipping" in text("caspian") and "Armenia and the treaty" not in text("caspian")
    assert "Caspian shipping" in text("keyword") and "Armenia and the treaty" not in text("keyword")
    with Session(app.engine) as session:
        assert len(session.execute(select(DigestEdition)).scalars().all()) == 4


async def test_nothing_new_sends_nothing_or_a_note(make_app, emu: BotApiEmulator) -> None:  # noqa: ANN001
    app = make_app()
    ann = private_chat(emu)
    subscribe(app, ann, "/subscribe Armenia")
    news(app, CASPIAN)
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
    assert report.plan.empty == 1 and report.counts.sent == 0
    assert emu.messages(ann.chat_id) == [] and emu.calls("sendMessage") == []
    assert [d.status for d in deliveries(app.engine)] == ["empty"]

    noted = make_app(digest_nothing_new_note=True)
    bob = private_chat(emu, "Bob")
    subscribe(noted, bob, "/subscribe Armenia")
    async with Harness(noted, emu) as h:
        await h.run(DUE)
    [note] = emu.messages(bob.chat_id)
    assert "No new analysis since" in note["text"]


@SQLITE_ONLY  # pacing does not depend on the database; keeps the suite short
async def test_a_429_storm_pauses_the_queue_and_loses_nothing(
    app: App, emu: BotApiEmulator
) -> None:
    chats = [private_chat(emu, f"user{i}") for i in range(6)]
    for caller in chats:
        subscribe(app, caller)
    news(app, ARMENIA)
    emu.fail_next("sendMessage", 429, retry_after=1, count=3)
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
        queue = h.runner.last_queue
    assert report.counts.sent == 6 and report.counts.rate_limited == 3
    assert all(len(emu.messages(c.chat_id)) == 1 for c in chats)
    assert queue.stats.pauses >= 1 and queue.stats.paused_seconds >= 1.0
    # Nothing was dispatched while the queue was paused: the gaps add up to the pauses.
    times = queue.stats.dispatch_times
    assert times[-1] - times[0] >= 2.9
    assert emu.rate_limited.total == 0
    assert {d.status for d in deliveries(app.engine)} == {"sent"}


async def test_blocked_chat_becomes_inactive_and_is_not_tried_again(
    app: App, emu: BotApiEmulator
) -> None:
    ann, bob = private_chat(emu, "Ann"), private_chat(emu, "Bob")
    subscribe(app, ann, "/subscribe daily")
    subscribe(app, bob, "/subscribe daily")
    news(app, ARMENIA)
    emu.block(ann.chat_id)
    first_due = utc(2026, 3, 5, 9)
    async with Harness(app, emu) as h:
        report = await h.run(first_due)
        assert report.counts.sent == 1 and report.counts.failed == 1
        with Session(app.engine) as session:
            chat = session.get(Chat, ann.chat_id)
            assert not chat.active and "blocked" in chat.inactive_reason
            assert chat.digest_hour == 9  # settings kept
        calls = len(emu.calls("sendMessage"))
        news(app, CASPIAN, after=first_due)
        await h.run(first_due + DAY)
        assert [c["chat_id"] for c in emu.calls("sendMessage")[calls:]] == [bob.chat_id]
    # Coming back: any digest command reactivates the chat.
    emu.unblock(ann.chat_id)
    subscribe(app, ann)
    with Session(app.engine) as session:
        assert session.get(Chat, ann.chat_id).active


async def test_unknown_chat_becomes_inactive(app: App, emu: BotApiEmulator) -> None:
    ghost = Caller(chat_id=987654321, chat_type="private", user_id=987654321)
    subscribe(app, ghost)
    news(app, ARMENIA)
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
    assert report.counts.failed == 1
    with Session(app.engine) as session:
        assert "chat not found" in session.get(Chat, ghost.chat_id).inactive_reason.lower()


async def test_other_bad_request_fails_and_names_the_template(
    app: App, emu: BotApiEmulator, caplog
) -> None:  # noqa: ANN001
    ann = private_chat(emu)
    subscribe(app, ann)
    news(app, ARMENIA)
    emu.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unexpected end tag")
    caplog.set_level(logging.ERROR, logger="bot.digest.runner")
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
    assert report.counts.failed == 1
    [row] = deliveries(app.engine)
    assert row.status == "failed" and "can't parse entities" in row.last_error.lower()
    assert "digest.html.j2" in caplog.text
    with Session(app.engine) as session:
        assert session.get(Chat, ann.chat_id).active


async def test_timeout_after_sending_is_uncertain_and_not_resent(
    app: App, emu: BotApiEmulator
) -> None:
    ann = private_chat(emu)
    subscribe(app, ann)
    news(app, ARMENIA)
    emu.delay_next("sendMessage", 1.5, deliver=True)
    async with Harness(app, emu, read_timeout=0.5) as h:
        report = await h.run(DUE)
        assert report.counts.uncertain == 1
        await h.run(DUE + dt.timedelta(hours=1))
    [row] = deliveries(app.engine)
    assert row.status == "uncertain" and "TimedOut" in row.last_error
    assert len(emu.messages(ann.chat_id)) == 1  # it did arrive, once


async def test_server_error_is_retried_with_backoff(app: App, emu: BotApiEmulator) -> None:
    ann = private_chat(emu)
    subscribe(app, ann)
    news(app, ARMENIA)
    emu.fail_next("sendMessage", 500, "Internal Server Error")
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
    assert report.counts.sent == 1
    assert len(emu.messages(ann.chat_id)) == 1
    [row] = deliveries(app.engine)
    assert row.status == "sent" and row.attempts == 2


def _error(cls: type, cause: BaseException | None = None, *args: object) -> BaseException:
    try:
        try:
            if cause is not None:
                raise cause
            raise RuntimeError
        except BaseException as inner:
            raise (cls(*args) if args else cls("boom")) from (inner if cause is not None else None)
    except BaseException as outer:  # noqa: BLE001
        return outer


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (RetryAfter(3), Verdict.RATE_LIMITED),
        (Forbidden("Forbidden: bot was blocked by the user"), Verdict.CHAT_GONE),
        (BadRequest("Bad Request: chat not found"), Verdict.CHAT_GONE),
        (BadRequest("Bad Request: message thread not found"), Verdict.THREAD_GONE),
        (BadRequest("Bad Request: can't parse entities"), Verdict.FAILED),
        (_error(TimedOut, httpx.ReadTimeout("read")), Verdict.UNCERTAIN),
        (_error(TimedOut, httpx.ConnectTimeout("connect")), Verdict.RETRY),
        (_error(TimedOut, httpx.PoolTimeout("pool")), Verdict.RETRY),
        (_error(NetworkError, httpx.ConnectError("refused")), Verdict.RETRY),
        (_error(NetworkError, httpx.RemoteProtocolError("gone")), Verdict.UNCERTAIN),
        (NetworkError("Bad Gateway"), Verdict.RETRY),
    ],
)
def test_errors_are_classified_most_specific_first(error: BaseException, verdict: Verdict) -> None:
    assert classify(error).verdict is verdict


async def test_catch_up_within_grace_sends_once_and_older_ones_are_skipped(
    app: App, emu: BotApiEmulator
) -> None:
    weekly, daily, late = (
        private_chat(emu, "Weekly"),
        private_chat(emu, "Daily"),
        private_chat(emu, "Late"),
    )
    subscribe(app, weekly)
    subscribe(app, daily, "/subscribe daily")
    news(app, ARMENIA)
    async with Harness(app, emu) as h:
        # The bot was down from Thursday to Monday 14:00: 5 hours late for the weekly one.
        report = await h.run(DUE + dt.timedelta(hours=5))
    assert report.counts.sent == 2
    assert len(emu.messages(weekly.chat_id)) == 1 and len(emu.messages(daily.chat_id)) == 1
    rows = {(d.chat_id, d.period): d for d in deliveries(app.engine)}
    daily_rows = sorted((p, d.status) for (c, p), d in rows.items() if c == daily.chat_id)
    assert daily_rows == [
        ("2026-03-05", "skipped"),
        ("2026-03-06", "skipped"),
        ("2026-03-07", "skipped"),
        ("2026-03-08", "skipped"),
        ("2026-03-09", "sent"),
    ]
    # Beyond the grace window: recorded as skipped, the schedule moves on, nothing is lost.
    subscribe(app, late)
    with Session(app.engine) as session:
        session.execute(
            update(Subscription)
            .where(Subscription.chat_id == late.chat_id)
            .values(since=T0, next_due_at=DUE)
        )
        session.commit()
    async with Harness(app, emu) as h:
        report = await h.run(DUE + dt.timedelta(hours=30))
        assert report.counts.sent == 0 and emu.messages(late.chat_id) == []
        with Session(app.engine) as session:
            sub = session.execute(
                select(Subscription).where(Subscription.chat_id == late.chat_id)
            ).scalar_one()
            assert sub.next_due_at == DUE + 7 * DAY and sub.since == T0
        await h.run(DUE + 7 * DAY)
    [message] = emu.messages(late.chat_id)
    assert "Armenia and the treaty" in message["text"]  # carried over from the skipped week


async def test_forum_topic_subscription_delivers_into_its_topic(
    app: App, emu: BotApiEmulator
) -> None:
    admin = emu.add_user("Admin")
    group = emu.add_group("Caucasus watchers", admins=[admin], forum=True)
    topic = emu.add_forum_topic(group["id"], "Digest")
    caller = Caller(
        chat_id=group["id"],
        chat_type="supergroup",
        user_id=admin["id"],
        thread_id=topic,
        is_chat_admin=True,
    )
    subscribe(app, caller, "/subscribe Armenia")
    news(app, ARMENIA)
    async with Harness(app, emu) as h:
        await h.run(DUE)
    [message] = emu.messages(group["id"], thread_id=topic)
    assert "Armenia and the treaty" in message["text"]


async def test_multi_part_digest_resumes_after_the_last_part_sent(
    make_app, emu: BotApiEmulator
) -> None:  # noqa: ANN001
    app = make_app(digest_max_items=40, digest_per_chat_interval=0.3)
    ann = private_chat(emu)
    subscribe(app, ann)
    lede = "The corridor reshapes trade across the region and beyond it. " * 6
    add_articles(
        app.engine,
        [
            {
                "title": f"Long analysis {i}",
                "ingested_at": T0 + dt.timedelta(hours=i + 1),
                "lede": lede,
                "entities": {"c:AZ": (3, True)},
            }
            for i in range(40)
        ],
    )
    async with Harness(app, emu) as h:
        h.runner.leadership.try_lead()
        h.runner.plan(DUE)
        with Session(app.engine) as session:
            edition_messages = session.execute(select(DigestEdition)).scalar_one().messages
            parts = len(edition_messages)
            assert parts >= 2
            # As if a previous run sent the first part and then stopped.
            session.execute(update(Delivery).values(parts_sent=1, status="pending"))
            session.commit()
        report = await h.run(DUE)
        times = h.runner.last_queue.stats.dispatch_times
    sent = emu.messages(ann.chat_id)
    assert len(sent) == parts - 1 and report.counts.sent == 1
    assert sent[0]["html"] == edition_messages[1]["text"]
    assert all(b - a >= 0.29 for a, b in zip(times, times[1:], strict=False))
    [row] = deliveries(app.engine)
    assert row.status == "sent" and row.parts_sent == parts


async def test_sends_are_paced_overall_and_never_hit_the_limits(
    make_app, emu: BotApiEmulator
) -> None:  # noqa: ANN001
    app = make_app(digest_send_rate=20.0)
    chats = [private_chat(emu, f"user{i}") for i in range(30)]
    for caller in chats:
        subscribe(app, caller)
    news(app, ARMENIA)
    async with Harness(app, emu) as h:
        report = await h.run(DUE)
        stats = h.runner.last_queue.stats
    assert report.counts.sent == 30
    times = stats.dispatch_times
    # Never more than the rate in any one second (plus the one at its edge), and close to it.
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 21
    assert 0.85 * 20 <= stats.rate <= 20.5
    assert emu.rate_limited.total == 0


async def test_operator_channel_gets_one_unfiltered_post_per_period(
    make_app, emu: BotApiEmulator
) -> None:  # noqa: ANN001
    admin = emu.add_user("Editor")
    channel = emu.add_group("Briefbot digest", admins=[admin])  # the emulator has no channels
    app = make_app(digest_channel_id=channel["id"])
    ann = private_chat(emu)
    subscribe(app, ann, "/subscribe Armenia")
    async with Harness(app, emu) as h:
        await h.run(T0)  # the channel joins at T0
        news(app, ARMENIA, CASPIAN)
        await h.run(DUE)
        await h.run(DUE + dt.timedelta(hours=1))
    [post] = emu.messages(channel["id"])
    assert "Caspian shipping grows" in post["text"] and "Armenia and the treaty" in post["text"]
    assert post["reply_markup"] is None
    [personal] = emu.messages(ann.chat_id)
    assert "Caspian shipping grows" not in personal["text"]


# --- end to end through the python-telegram-bot transport ----------------------------------


@SQLITE_ONLY
async def test_end_to_end_subscribe_button_then_scheduled_tick(
    make_app, emu: BotApiEmulator
) -> None:  # noqa: ANN001
    from bot.chat.telegram import TelegramBot
    from bot.ingest.loader import ingest_paths
    from tests.conftest import SAMPLE

    app = make_app(digest_tick_seconds=3600)
    real_now = dt.datetime.now(dt.UTC)
    app.digest.clock = lambda: real_now - dt.timedelta(hours=1)
    ann_user = emu.add_user("Ann")
    ann = emu.add_private_chat(ann_user)["id"]
    admin, member = emu.add_user("Admin"), emu.add_user("Member")
    group = emu.add_group("Caucasus desk", members=[member], admins=[admin])["id"]
    application = TelegramBot(app).build()
    async with application:
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        try:
            # A member may not subscribe a group; its administrator may.
            emu.send_text(group, "/subscribe", from_user=member)
            [refusal] = await emu.wait_for_messages(group, 1)
            assert "administrators" in refusal["text"]
            emu.send_text(group, "/subscribe daily", from_user=admin)
            await emu.wait_for_messages(group, 2)
            # The "Subscribe to Armenia" button under a briefing.
            await asyncio.to_thread(ingest_paths, app.engine, [SAMPLE], app.knowledge)
            emu.send_text(ann, "/brief Armenia")

            def subscribe_button(e: BotApiEmulator):  # noqa: ANN202
                return next(
                    (m for m in e.messages(ann) if "sub|c:AM" in str(m["reply_markup"])), None
                )

            briefing = await emu.wait_for(
                subscribe_button, what="a briefing with a subscribe button"
            )
            messages = emu.messages(ann)
            query = emu.press_button(ann, briefing["message_id"], "sub|c:AM")
            answer = await emu.wait_for_callback_answer(query)
            assert answer["text"] == "Subscribed to Armenia"
            before = len(await emu.wait_for_messages(ann, len(messages) + 1))
            with Session(app.engine) as session:
                due = session.execute(
                    select(Subscription.next_due_at).where(Subscription.chat_id == ann)
                ).scalar_one()
            # The one digest job, fired by the JobQueue's scheduler with the clock at the due time.
            app.digest.clock = lambda: due
            [job] = application.job_queue.get_jobs_by_name("digest")
            job.job.modify(next_run_time=dt.datetime.now(dt.UTC))
            digest_messages = await emu.wait_for_messages(ann, before + 1, timeout=10)
        finally:
            await application.updater.stop()
            await application.stop()
    digest_text = digest_messages[before]["text"]
    assert "Weekly digest" in digest_text and "🇦🇲" in digest_text
    assert len(digest_messages) == before + 1
    # The replies just sent to Ann used her chat's burst; the digest's own pacer cannot see
    # them, so its first send may meet one 429, which it honours.
    assert emu.rate_limited.total <= 1
