"""The real python-telegram-bot Application against the strict local Bot API emulator.

End to end: commands, buttons, paging, inline mode, groups and forum topics, flood
control, admin commands, errors, and the webhook server with its secret. Every wait is
bounded; the emulator refuses what Telegram refuses (bad HTML, long texts, long callback
data, floods).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from telegram import Update

from bot.chat.telegram import TelegramBot, serve_webhook
from bot.config import PROJECT_ROOT, Settings
from bot.ingest.loader import ingest_paths
from bot.wiring import App
from tests.conftest import SAMPLE
from tests.emulator import BotApiEmulator

ADMIN_ID = 777_000_001


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def app(emu, sqlite_engine, knowledge) -> App:  # noqa: ANN001
    ingest_paths(sqlite_engine, [SAMPLE], knowledge)
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=emu.token,
        telegram_api_base_url=emu.base_url,
        admin_chat_ids=str(ADMIN_ID),
        flood_window_seconds=30,
        data_dir=PROJECT_ROOT / "data",
        templates_dir=PROJECT_ROOT / "templates",
    )
    return App(settings, engine=sqlite_engine, knowledge=knowledge)


@contextlib.asynccontextmanager
async def polling(app: App) -> AsyncIterator[TelegramBot]:
    bot = TelegramBot(app)
    bot.jobs = []  # no periodic work in these tests
    application = bot.build()
    async with application:
        await bot.on_startup(application)  # what run_polling's post_init does
        await application.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
        await application.start()
        try:
            yield bot
        finally:
            await application.updater.stop()
            await application.stop()


@pytest.fixture
def ann(emu):  # noqa: ANN001
    user = emu.add_user("Ann", "ann")
    return user, emu.add_private_chat(user)


async def ask(emu, chat_id: int, text: str, count: int = 1, user=None, **kwargs) -> list[dict]:  # noqa: ANN001
    before = len(emu.messages(chat_id, **({"thread_id": kwargs["thread_id"]} if "thread_id" in kwargs else {})))
    emu.send_text(chat_id, text, from_user=user, **kwargs)
    messages = await emu.wait_for_messages(chat_id, before + count, timeout=8, **({"thread_id": kwargs["thread_id"]} if "thread_id" in kwargs else {}))
    return messages[before:]


async def ask_view(emu, chat_id: int, text: str, user=None) -> list[dict]:  # noqa: ANN001
    """A view of several messages ends with the one that carries its keyboard."""
    before = len(emu.messages(chat_id))
    emu.send_text(chat_id, text, from_user=user)
    await emu.wait_for(
        lambda e: any(m["reply_markup"] for m in e.messages(chat_id)[before:]), timeout=10, what=text
    )
    return emu.messages(chat_id)[before:]


async def test_start_help_and_command_menu(emu, app, ann):
    _, chat = ann
    async with polling(app):
        (welcome,) = await ask(emu, chat["id"], "/start")
        assert "Welcome to Briefbot" in welcome["text"] and "5 expert analyses" in welcome["text"]
        (help_text,) = await ask(emu, chat["id"], "/help")
        assert "/brief Armenia" in help_text["text"]
    menu = [c["command"] for c in emu.my_commands]
    for command in ("start", "help", "brief", "topic", "timeline", "article", "latest", "search", "countries", "topics"):
        assert command in menu
    assert "stats" not in menu


async def test_brief_armenia_then_buttons_and_paging(emu, app, ann):
    _, chat = ann
    async with polling(app):
        emu.send_text(chat["id"], "/brief Armenia")
        await emu.wait_for(lambda e: any(m["reply_markup"] for m in e.messages(chat["id"])), timeout=8)
        messages = emu.messages(chat["id"])
        whole = "\n".join(m["text"] for m in messages)
        assert "🇦🇲 Armenia" in whole and "Key developments" in whole and "8 Oct 2024" in whole
        assert "Russia" in whole.split("Relations", 1)[1]
        last = messages[-1]
        callback = {b["text"]: b["callback_data"] for row in last["reply_markup"]["inline_keyboard"] for b in row}
        query_id = emu.press_button(chat["id"], last["message_id"], callback["🗓 Timeline"])
        await emu.wait_for_callback_answer(query_id, timeout=5)
        timeline = (await emu.wait_for_messages(chat["id"], len(messages) + 1, timeout=8))[-1]
        assert "Timeline: 🇦🇲 Armenia" in timeline["text"] and "page 1 of" in timeline["text"]
        older = [b for row in timeline["reply_markup"]["inline_keyboard"] for b in row if b["text"].startswith("Older")]
        query_id = emu.press_button(chat["id"], timeline["message_id"], older[0]["callback_data"])
        await emu.wait_for_callback_answer(query_id, timeout=5)
        await emu.wait_for(lambda e: e.message(chat["id"], timeline["message_id"])["edited"] >= 1, timeout=5)
        edited = emu.message(chat["id"], timeline["message_id"])
        assert "page 2 of" in edited["text"]
        assert len(emu.messages(chat["id"])) == len(messages) + 1  # paged in place, no new message
    assert not [e for e in emu.errors if e.get("error_code") != 429]


async def test_topic_countries_topics_and_plain_names(emu, app, ann):
    _, chat = ann
    async with polling(app):
        topic = await ask_view(emu, chat["id"], "/topic caspian")
        assert "Caspian Sea" in topic[0]["text"]
        (countries,) = await ask(emu, chat["id"], "/countries")
        assert "Azerbaijan" in countries["text"]
        (topics,) = await ask(emu, chat["id"], "/topics")
        assert "Middle Corridor" in topics["text"]
        plain = await ask_view(emu, chat["id"], "armenia")
        assert "🇦🇲 Armenia" in plain[0]["text"]
        (hint,) = await ask(emu, chat["id"], "hello there, how are you?")
        assert "/help" in hint["text"]


async def test_typo_unknown_long_and_html_arguments(emu, app, ann):
    _, chat = ann
    async with polling(app):
        (typo,) = await ask(emu, chat["id"], "/brief Azerbaijn")
        assert "Did you mean" in typo["text"] and "Azerbaijan" in typo["text"]
        (unknown,) = await ask(emu, chat["id"], "/brief Atlantis")
        assert "don't know" in unknown["text"]
        (long,) = await ask(emu, chat["id"], "/brief " + "x" * 5000)
        assert "too long" in long["text"]
        (html,) = await ask(emu, chat["id"], "/brief <b>Armenia</b><img src=x>")
        assert "<img" not in html["html"] or "&lt;img" in html["html"]
    assert not emu.errors


async def test_deep_link_opens_a_briefing(emu, app, ann):
    _, chat = ann
    async with polling(app):
        replies = await ask_view(emu, chat["id"], "/start brief-AZ")
        assert "🇦🇿 Azerbaijan" in replies[0]["text"]


async def test_inline_query_offers_briefing_cards(emu, app, ann):
    user, _ = ann
    async with polling(app):
        query_id = emu.inline_query(user, "armenia")
        answer = await emu.wait_for_inline_answer(query_id, timeout=8)
    results = answer["results"]
    assert results and results[0]["id"] == "c-AM"
    assert "Armenia" in results[0]["title"]
    (button,) = results[0]["reply_markup"]["inline_keyboard"][0]
    assert button["url"] == f"https://t.me/{emu.bot_username}?start=brief-AM"


async def test_group_commands_are_replied_to_in_their_thread_and_chatter_is_ignored(emu, app):
    alice = emu.add_user("Alice", "alice")
    group = emu.add_group("Analysts", members=[alice], admins=[alice], forum=True, bot_is_admin=True)
    thread = emu.add_forum_topic(group["id"], "Caucasus")
    async with polling(app):
        update_id = emu.send_text(group["id"], "/brief@briefbot_test_bot Armenia", from_user=alice, thread_id=thread)
        command_id = emu.get_update(update_id)["message"]["message_id"]
        replies = await emu.wait_for_messages(group["id"], 1, timeout=8, thread_id=thread)
        assert replies[0]["reply_to_message_id"] == command_id
        assert replies[0]["message_thread_id"] == thread
        emu.send_text(group["id"], "armenia is interesting", from_user=alice, thread_id=thread)
        emu.send_text(group["id"], "/brief@some_other_bot Armenia", from_user=alice, thread_id=thread)
        await emu.wait_until_idle(timeout=3, quiet=0.7)
    sent = emu.messages(group["id"], thread_id=thread)
    assert all("Armenia" in m["text"] or "[" in m["text"] for m in sent)
    texts_after = [m for m in sent if m["reply_to_message_id"] not in (None, command_id)]
    assert texts_after == []


async def test_flood_limit_gives_one_notice_then_silence(emu, app, ann):
    _, chat = ann
    app.settings.flood_max_commands = 4
    async with polling(app):
        for _ in range(7):
            emu.send_text(chat["id"], "/help")
        await emu.wait_for_messages(chat["id"], 5, timeout=10)
        await emu.wait_until_idle(timeout=4, quiet=1.2)
    texts = [m["text"] for m in emu.messages(chat["id"])]
    assert sum("what you can ask" in t for t in texts) == 4
    assert sum("faster than I can answer" in t for t in texts) == 1
    assert len(texts) == 5


async def test_admin_commands(emu, app, ann):
    _, chat = ann
    admin = emu.add_user("Op", "op", user_id=ADMIN_ID)
    admin_chat = emu.add_private_chat(admin)
    async with polling(app):
        (refused,) = await ask(emu, chat["id"], "/stats")
        assert "Not allowed" in refused["text"] and "Articles" not in refused["text"]
        (stats,) = await ask(emu, admin_chat["id"], "/stats", user=admin)
        assert "Articles: 5" in stats["text"]
        (sources,) = await ask(emu, chat["id"], "/source list")
        assert "Not allowed" in sources["text"]


async def test_errors_get_an_apology_and_a_log_line_without_the_token(emu, app, ann, caplog, monkeypatch):
    _, chat = ann

    def explode(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("boom")

    monkeypatch.setattr(app.commands, "handle_text", explode)
    caplog.set_level(logging.ERROR)
    async with polling(app):
        (apology,) = await ask(emu, chat["id"], "/brief Armenia")
    assert "Sorry" in apology["text"]
    record = [r for r in caplog.records if "failed" in r.getMessage()][0]
    assert record.getMessage().startswith("update ") and record.exc_info
    assert emu.token not in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_requires_the_secret(emu, app, ann):
    _, chat = ann
    port = _free_port()
    app.settings.webhook_url = f"http://127.0.0.1:{port}/telegram"
    app.settings.webhook_secret = SecretStr("s3cret-token-for-tests")
    app.settings.port = port
    stop = asyncio.Event()
    server = asyncio.create_task(serve_webhook(app, host="127.0.0.1", stop=stop))
    try:
        await emu.wait_for(lambda e: e.webhook.get("url"), timeout=8, what="setWebhook")
        assert emu.webhook["secret_token"] == "s3cret-token-for-tests"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200 and (await response.json())["ok"]
        update_id = emu.send_text(chat["id"], "/help")
        assert await emu.post_to_webhook(update_id, secret=None) == 403
        assert await emu.post_to_webhook(update_id, secret="wrong") == 403
        assert emu.messages(chat["id"]) == []
        assert await emu.post_to_webhook(update_id) == 200
        (reply,) = await emu.wait_for_messages(chat["id"], 1, timeout=8)
        assert "what you can ask" in reply["text"]
    finally:
        stop.set()
        await asyncio.wait_for(server, timeout=10)


async def test_admin_manages_live_sources_from_telegram(emu, app):
    admin = emu.add_user("Op", "op", user_id=ADMIN_ID)
    admin_chat = emu.add_private_chat(admin)
    app.settings.allow_private_sources = True
    async with polling(app):
        (empty,) = await ask(emu, admin_chat["id"], "/source list", user=admin)
        assert "No live sources yet" in empty["text"]
        (added,) = await ask(emu, admin_chat["id"], "/source add http://127.0.0.1:9/feed.xml every 30 name local", user=admin)
        assert "Added <b>local</b>" in added["html"] and "every 30 min" in added["text"]
        (listed,) = await ask(emu, admin_chat["id"], "/source list", user=admin)
        assert "local" in listed["text"] and "http://127.0.0.1:9/feed.xml" in listed["text"]
        (refused,) = await ask(emu, admin_chat["id"], "/source add ftp://example.org/x", user=admin)
        assert "Cannot add that source" in refused["text"]
        (usage,) = await ask(emu, admin_chat["id"], "/source", user=admin)
        assert "Usage" in usage["text"]
    assert [job.name for job in app.periodic_jobs if job.name == "poll-sources"]
