"""Tests for the local Bot API emulator (tests/emulator) driven by real python-telegram-bot.

Owns the proof that the emulator is faithful enough for Briefbot's tests: an unmodified PTB
``Application`` polls it, receives commands, callback and inline queries, and every rule the
emulator enforces (HTML, lengths, keyboards, flood limits, blocked/kicked chats, topics,
replies) surfaces in PTB as the exception real Telegram would cause. Also covers the control
API (faults, delays, webhook delivery) and the thread-hosted variant used by sync tests.
Every wait is bounded; the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import socket
import time
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from tests.emulator import BotApiEmulator, EmulatorThread

HTML = ParseMode.HTML

# RetryAfter's constructor itself triggers PTB 22's int-vs-timedelta deprecation warning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url) as client:
        yield client


@pytest.fixture
def chat(emu: BotApiEmulator) -> dict:
    return emu.add_private_chat(emu.add_user("Ann", "ann"))


@contextlib.asynccontextmanager
async def running_app(emu: BotApiEmulator, *handlers) -> AsyncIterator[list[BaseException]]:
    """A real PTB Application polling the emulator; yields the errors its handlers raised."""
    app = Application.builder().token(emu.token).base_url(emu.base_url).build()
    for handler in handlers:
        app.add_handler(handler)
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app.add_error_handler(on_error)
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield errors
        finally:
            await app.updater.stop()
            await app.stop()


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 deprecates the int form; PTB_TIMEDELTA=true switches to timedelta.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


# --------------------------------------------------------------------------- PTB application


async def test_command_handler_replies_with_html(emu: BotApiEmulator, chat: dict):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html("<b>Welcome</b> to <i>Briefbot</i> &amp; co")

    async with running_app(emu, CommandHandler("start", start)) as errors:
        emu.send_text(chat["id"], "/start")
        [reply] = await emu.wait_for_messages(chat["id"], 1, timeout=5)
    assert errors == []
    assert reply["text"] == "Welcome to Briefbot & co"
    assert reply["html"] == "<b>Welcome</b> to <i>Briefbot</i> &amp; co"
    assert reply["entities"] == [
        {"type": "bold", "offset": 0, "length": 7},
        {"type": "italic", "offset": 11, "length": 8},
    ]
    assert reply["message"]["from"]["username"] == emu.bot_username
    assert reply["message"]["chat"]["id"] == chat["id"]
    assert isinstance(reply["message"]["date"], int) and reply["message"]["date"] > 1e9
    assert [c.method for c in emu.requests][:2] == ["getMe", "deleteWebhook"]
    assert emu.errors == []


async def test_application_sees_each_update_once(emu: BotApiEmulator, chat: dict):
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)

    async with running_app(emu, MessageHandler(filters.TEXT, record)):
        sent = [emu.send_text(chat["id"], f"note {i}") for i in range(3)]
        await asyncio.sleep(0.05)
        sent += [emu.send_text(chat["id"], f"later {i}") for i in range(3)]
        await emu.wait_for(lambda e: len(seen) >= 6, timeout=5, what="six updates handled")
        await emu.wait_until_idle(timeout=5)
    assert seen == sent
    assert emu.pending_updates == []


async def test_callback_query_round_trip(emu: BotApiEmulator, chat: dict):
    instances: list[str] = []

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sources", callback_data="src:1")]])
        await update.effective_message.reply_text("Pick one", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        instances.append(query.chat_instance)
        await query.answer("Loading sources")
        await query.edit_message_text(f"<i>{query.data}</i> chosen", parse_mode=HTML)

    async with running_app(emu, CommandHandler("menu", menu), CallbackQueryHandler(pressed)):
        emu.send_text(chat["id"], "/menu")
        [menu_message] = await emu.wait_for_messages(chat["id"], 1)
        buttons = menu_message["reply_markup"]["inline_keyboard"]
        assert buttons == [[{"text": "Sources", "callback_data": "src:1"}]]
        with pytest.raises(ValueError, match="no button"):
            emu.press_button(chat["id"], menu_message["message_id"], "src:2")
        query_id = emu.press_button(chat["id"], menu_message["message_id"], "src:1")
        answer = await emu.wait_for_callback_answer(query_id, timeout=5)
        edited = await emu.wait_for(lambda e: e.messages(chat["id"])[0]["edited"], what="edit")
    assert answer["text"] == "Loading sources" and answer["show_alert"] is False
    assert edited == 1
    [final] = emu.messages(chat["id"])
    assert final["text"] == "src:1 chosen"
    # Telegram drops the keyboard when an edit does not repeat it.
    assert final["reply_markup"] is None and "reply_markup" not in final["message"]
    assert instances and instances[0].isdigit()
    async with Bot(emu.token, base_url=emu.base_url) as bot:
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query_id)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("no-such-query")


async def test_inline_query_is_answered(emu: BotApiEmulator):
    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query.query
        await update.inline_query.answer(
            [
                InlineQueryResultArticle(
                    id="brief-1",
                    title=f"Brief on {query}",
                    input_message_content=InputTextMessageContent(
                        f"<b>{query}</b> weekly brief", parse_mode=HTML
                    ),
                )
            ],
            cache_time=0,
        )

    user = emu.add_user("Inline", "inliner")
    async with running_app(emu, InlineQueryHandler(inline)):
        query_id = emu.inline_query(user, "Baku")
        answer = await emu.wait_for_inline_answer(query_id, timeout=5)
    [result] = answer["results"]
    assert result["type"] == "article" and result["title"] == "Brief on Baku"
    assert result["input_message_content"]["message_text"] == "<b>Baku</b> weekly brief"
    assert answer["cache_time"] == 0


async def test_group_command_addressed_to_the_bot(emu: BotApiEmulator):
    ann, bob = emu.add_user("Ann"), emu.add_user("Bob")
    group = emu.add_group("Caspian desk", members=[bob], admins=[ann])
    args: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args.append(context.args)
        await update.effective_message.reply_text("hello group")

    async with running_app(emu, CommandHandler("start", start)):
        command = f"/start@{emu.bot_username}"
        update_id = emu.send_text(group["id"], f"{command} now", from_user=bob)
        [reply] = await emu.wait_for_messages(group["id"], 1)
        # Privacy mode: Telegram does not show these to the bot at all.
        assert emu.send_text(group["id"], "/start@some_other_bot") is None
        assert emu.send_text(group["id"], "just chatting") is None
        await emu.wait_until_idle(timeout=5)
    message = emu.get_update(update_id)["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": len(command)}]
    assert message["from"]["id"] == bob["id"] and message["chat"]["type"] == "supergroup"
    assert args == [["now"]]
    # PTB quotes the triggering message in groups; the emulator checked it exists.
    assert reply["reply_to_message_id"] == message["message_id"]
    assert len(emu.messages(group["id"])) == 1 and len(emu.undelivered) == 2


async def test_forum_topic_round_trip(emu: BotApiEmulator, bot: Bot):
    ann = emu.add_user("Ann")
    forum = emu.add_group("Regions", members=[ann], forum=True)
    caucasus = emu.add_forum_topic(forum["id"], "Caucasus")
    central_asia = emu.add_forum_topic(forum["id"], "Central Asia")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(
            f"topic {update.effective_message.message_thread_id}"
        )

    async with running_app(emu, CommandHandler("start", start)):
        emu.send_text(forum["id"], "/start", from_user=ann, thread_id=central_asia)
        [reply] = await emu.wait_for_messages(forum["id"], 1, thread_id=central_asia)
    assert reply["text"] == f"topic {central_asia}"
    assert reply["message_thread_id"] == central_asia
    assert reply["message"]["is_topic_message"] is True
    assert emu.messages(forum["id"], thread_id=caucasus) == []

    sent = await bot.send_message(forum["id"], "to Caucasus", message_thread_id=caucasus)
    assert sent.message_thread_id == caucasus and sent.is_topic_message
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(forum["id"], "nowhere", message_thread_id=9999)
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(forum["id"], "x", reply_parameters=ReplyParameters(9999))
    ok = await bot.send_message(
        forum["id"],
        "tolerant",
        reply_parameters=ReplyParameters(9999, allow_sending_without_reply=True),
    )
    assert ok.reply_to_message is None


async def test_webhook_mode_application(emu: BotApiEmulator):
    chat = emu.add_private_chat(emu.add_user("Hooked"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("via webhook")

    app = Application.builder().token(emu.token).base_url(emu.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="s3cret",
        )
        await app.start()
        try:
            assert emu.webhook["secret_token"] == "s3cret"
            update_id = emu.send_text(chat["id"], "/start")
            assert await emu.post_to_webhook(update_id, secret="wrong") == 403
            assert await emu.post_to_webhook(update_id) == 200
            [reply] = await emu.wait_for_messages(chat["id"], 1)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["text"] == "via webhook"
    assert emu.pending_updates == []


async def test_rate_limiter_with_retries_gets_a_burst_through(emu: BotApiEmulator, chat: dict):
    async def brief(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        for part in range(4):  # one more than the private-chat burst
            await update.effective_message.reply_text(f"part {part}")

    app = (
        Application.builder()
        .token(emu.token)
        .base_url(emu.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    app.add_handler(CommandHandler("brief", brief))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            emu.send_text(chat["id"], "/brief")
            parts = await emu.wait_for_messages(chat["id"], 4, timeout=6)
        finally:
            await app.updater.stop()
            await app.stop()
    assert [m["text"] for m in parts] == [f"part {i}" for i in range(4)]
    assert emu.rate_limited.total >= 1  # PTB honoured retry_after instead of failing


async def test_second_poller_conflicts_and_stop_wakes_long_polls():
    emulator = BotApiEmulator()
    await emulator.start()
    try:
        async with (
            Bot(emulator.token, base_url=emulator.base_url) as first,
            Bot(emulator.token, base_url=emulator.base_url) as second,
        ):
            older = asyncio.create_task(first.get_updates(timeout=5))
            await asyncio.sleep(0.1)
            newer = asyncio.create_task(second.get_updates(timeout=5))
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await asyncio.wait_for(older, timeout=3)
            started = time.monotonic()
            await emulator.stop()
            assert await asyncio.wait_for(newer, timeout=3) == ()
            assert time.monotonic() - started < 2
    finally:
        await emulator.stop()


# --------------------------------------------------------------------------- enforcement


async def test_bad_html_is_a_bad_request(emu: BotApiEmulator, bot: Bot, chat: dict):
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as caught:
        await bot.send_message(chat["id"], "<p>Brief</p>", parse_mode=HTML)
    # PTB strips "Bad Request: " and capitalize()s the rest, lower-casing everything after the
    # first letter: bot code must match error texts case-insensitively.
    assert caught.value.message == (
        'Can\'t parse entities: unsupported start tag "p" at byte offset 0'
    )
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(chat["id"], "Tom&nbsp;Jerry", parse_mode=HTML)
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(chat["id"], "<b>unclosed", parse_mode=HTML)
    with pytest.raises(BadRequest, match="(?i)MarkdownV2 is not supported"):
        await bot.send_message(chat["id"], "*x*", parse_mode=ParseMode.MARKDOWN_V2)
    assert emu.messages(chat["id"]) == []
    assert [e["description"][:33] for e in emu.errors][:3] == [
        "Bad Request: can't parse entities"
    ] * 3
    # Without parse_mode the same text is just text.
    plain = await bot.send_message(chat["id"], "<p>Brief</p>")
    assert plain.text == "<p>Brief</p>" and not plain.entities


async def test_text_length_counts_visible_utf16_units(emu: BotApiEmulator, bot: Bot):
    chats = [emu.add_private_chat(emu.add_user(f"U{i}"))["id"] for i in range(2)]
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(chats[0], "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(chats[0], "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(chats[0], "<b></b>", parse_mode=HTML)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(chats[0], "   ")
    await bot.send_message(chats[0], "a" * 4096)
    await bot.send_message(chats[0], "😀" * 2048)
    # Markup is free: only what the user sees counts.
    await bot.send_message(chats[1], "<b>" + "a" * 4096 + "</b>", parse_mode=HTML)
    assert len(emu.messages(chats[0])) == 2 and len(emu.messages(chats[1])) == 1


async def test_inline_keyboard_rules(emu: BotApiEmulator, bot: Bot, chat: dict):
    def keyboard(**button) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Go", **button)]])

    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(chat["id"], "x", reply_markup=keyboard(callback_data="x" * 65))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):  # 33 chars, 66 bytes
        await bot.send_message(chat["id"], "x", reply_markup=keyboard(callback_data="é" * 33))
    with pytest.raises(BadRequest, match="(?i)BUTTON_URL_INVALID"):
        await bot.send_message(chat["id"], "x", reply_markup=keyboard(url="javascript:alert(1)"))
    with pytest.raises(BadRequest, match="(?i)exactly one"):
        await bot.send_message(
            chat["id"], "x", reply_markup=keyboard(callback_data="a", url="https://example.org")
        )
    many = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    )
    with pytest.raises(BadRequest, match="(?i)REPLY_MARKUP_TOO_LONG"):
        await bot.send_message(chat["id"], "x", reply_markup=many)
    sent = await bot.send_message(chat["id"], "ok", reply_markup=keyboard(callback_data="x" * 64))
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "x" * 64


async def test_edit_rules(emu: BotApiEmulator, bot: Bot, chat: dict):
    sent = await bot.send_message(chat["id"], "<b>v1</b>", parse_mode=HTML)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<b>v1</b>", chat["id"], sent.message_id, parse_mode=HTML)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("v2", chat["id"], 9999)
    edited = await bot.edit_message_text("v1", chat["id"], sent.message_id)  # bold dropped
    assert edited.edit_date is not None and edited.text == "v1" and not edited.entities
    assert emu.messages(chat["id"])[0]["edited"] == 1
    assert await bot.delete_message(chat["id"], sent.message_id) is True
    assert emu.messages(chat["id"]) == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(chat["id"], sent.message_id)


async def test_burst_beyond_private_bucket_is_retry_after(
    emu: BotApiEmulator, bot: Bot, chat: dict
):
    for i in range(3):  # the default private bucket tolerates a burst of 3
        await bot.send_message(chat["id"], f"part {i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat["id"], "part 3")
    assert retry_seconds(caught.value) >= 1
    assert len(emu.messages(chat["id"])) == 3  # nothing delivered on 429
    stats = emu.rate_limited
    assert stats.total == 1 and stats.per_chat == {chat["id"]: 1}
    # Another chat has its own bucket; set_limits changes the rules at run time.
    other = emu.add_private_chat(emu.add_user("Other"))
    await bot.send_message(other["id"], "fine")
    emu.set_limits(private_rate=100, private_burst=100)
    await bot.send_message(chat["id"], "part 3")


async def test_group_bucket_is_per_minute():
    async with BotApiEmulator(group_burst=2) as emulator:
        group = emulator.add_group("Desk")
        async with Bot(emulator.token, base_url=emulator.base_url) as client:
            await client.send_message(group["id"], "one")
            await client.send_message(group["id"], "two")
            with pytest.raises(RetryAfter) as caught:
                await client.send_message(group["id"], "three")
    # 20 per minute refills one message every 3 s (2 if the machine stalled for a second).
    assert 2 <= retry_seconds(caught.value) <= 3


async def test_blocked_kicked_and_unknown_chats(emu: BotApiEmulator, bot: Bot, chat: dict):
    emu.block(chat["id"])
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat["id"], "hi")
    emu.unblock(chat["id"])
    await bot.send_message(chat["id"], "hi again")

    group = emu.add_group("Gone", supergroup=False)
    emu.kick(group["id"])
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(group["id"], "hi")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(424242, "hi")
    stranger = emu.add_private_chat(emu.add_user("Stranger"), started=False)
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(stranger["id"], "hi")


async def test_inline_answer_rules(emu: BotApiEmulator, bot: Bot):
    user = emu.add_user("Q")

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            result_id, "title", InputTextMessageContent(text, parse_mode=HTML)
        )

    query_id = emu.inline_query(user, "x")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.answer_inline_query(query_id, [article("1", "<div>x</div>")])
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.answer_inline_query(query_id, [article("1", "a" * 4097)])
    with pytest.raises(BadRequest, match="(?i)RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query_id, [article("1", "a"), article("1", "b")])
    with pytest.raises(BadRequest, match="(?i)RESULT_ID_INVALID"):
        await bot.answer_inline_query(query_id, [article("x" * 65, "a")])
    with pytest.raises(BadRequest, match="(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, [article(str(i), "a") for i in range(51)])
    assert await bot.answer_inline_query(query_id, [article("1", "<b>ok</b>")])
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_inline_query(query_id, [article("1", "again")])


async def test_callback_answer_text_limit(emu: BotApiEmulator, bot: Bot, chat: dict):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d")]])
    sent = await bot.send_message(chat["id"], "menu", reply_markup=keyboard)
    query_id = emu.press_button(chat["id"], sent.message_id, "d")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="x" * 200, show_alert=True)
    assert emu.callback_answers[query_id]["show_alert"] is True


# --------------------------------------------------------------------------- raw protocol


async def test_get_updates_offset_limit_and_long_poll(emu: BotApiEmulator, bot: Bot, chat: dict):
    ids = [emu.send_text(chat["id"], f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates()] == ids[1:]  # ids[0] is gone for good
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == ids[1:2]
    assert await bot.get_updates(offset=ids[-1] + 1) == ()
    assert emu.pending_updates == []

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=ids[-1] + 1, timeout=5))
    await asyncio.sleep(0.2)
    new_id = emu.send_text(chat["id"], "wake up")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert [u.update_id for u in updates] == [new_id]
    assert time.monotonic() - started < 2  # woken by the update, not by the timeout

    started = time.monotonic()
    assert await bot.get_updates(offset=new_id + 1, timeout=0.3) == ()
    assert 0.25 < time.monotonic() - started < 2

    # allowed_updates filters (and thereby drops) other kinds of updates.
    emu.send_text(chat["id"], "ignored")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d")]])
    sent = await bot.send_message(chat["id"], "menu", reply_markup=keyboard)
    query_id = emu.press_button(chat["id"], sent.message_id, "d")
    [only] = await bot.get_updates(offset=new_id + 1, allowed_updates=["callback_query"])
    assert only.callback_query.id == query_id and only.callback_query.chat_instance


async def test_get_me_and_chat_info(emu: BotApiEmulator, bot: Bot, chat: dict):
    me = await bot.get_me()
    assert me.is_bot and me.username == emu.bot_username and me.id == 123456
    assert me.can_join_groups is True and me.supports_inline_queries is True
    assert me.can_read_all_group_messages is False

    admin, member = emu.add_user("Admin"), emu.add_user("Member")
    group = emu.add_group("Desk", members=[member], admins=[admin], bot_is_admin=True)
    info = await bot.get_chat(group["id"])
    assert info.title == "Desk" and info.type == "supergroup"
    assert (await bot.get_chat_member(group["id"], member["id"])).status == "member"
    assert (await bot.get_chat_member(group["id"], admin["id"])).status == "creator"
    admins = await bot.get_chat_administrators(group["id"])
    assert {a.user.id for a in admins} == {admin["id"], me.id}
    assert (await bot.get_chat(chat["id"])).first_name == "Ann"


async def test_commands_and_webhook(emu: BotApiEmulator, bot: Bot):
    assert await bot.set_my_commands([("brief", "Latest briefing"), ("start", "Start")])
    assert emu.my_commands == [
        {"command": "brief", "description": "Latest briefing"},
        {"command": "start", "description": "Start"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["brief", "start"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Brief!", "bad name")])
    assert await bot.delete_my_commands() and emu.my_commands == []

    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token="s3cret-Token")
        assert emu.webhook["url"] == url and emu.webhook["secret_token"] == "s3cret-Token"
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        with pytest.raises(BadRequest, match="(?i)secret token"):
            await bot.set_webhook(url, secret_token="no spaces allowed")
        user = emu.add_user("Hook")
        update_id = emu.send_text(emu.add_private_chat(user)["id"], "/start")
        assert await emu.post_to_webhook(update_id) == 200
        assert received[0][0] == "s3cret-Token"
        assert received[0][1]["update_id"] == update_id
        assert emu.pending_updates == []
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_raw_http_shapes(emu: BotApiEmulator, chat: dict):
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}{emu.token}"
        async with session.post(f"{url}/getMe") as response:
            me = await response.json()
        assert me["ok"] is True and me["result"]["is_bot"] is True
        for key in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries"):
            assert key in me["result"]

        body = {
            "chat_id": chat["id"],
            "text": "json <b>body</b>",
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]},
        }
        async with session.post(f"{url}/sendMessage", json=body) as response:
            sent = await response.json()
        assert sent["result"]["entities"] == [{"type": "bold", "offset": 5, "length": 4}]

        async with session.post(
            f"{url}/sendMessage", data={"chat_id": str(chat["id"]), "text": "x" * 5000}
        ) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message is too long",
            }
        async with session.post(f"{url}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
        async with session.post(f"{emu.base_url}not-a-token/getMe") as response:
            assert response.status == 404
        async with session.post(f"{emu.base_url}999:wrong/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"


async def test_unknown_token_is_invalid_token(emu: BotApiEmulator):
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=emu.base_url):
            pass


# --------------------------------------------------------------------------- faults


async def test_injected_faults_and_delays(emu: BotApiEmulator, bot: Bot, chat: dict):
    emu.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat["id"], "a")
    assert retry_seconds(caught.value) == 7
    emu.fail_next("sendMessage", 502, "Bad Gateway", chat_id=chat["id"])
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(chat["id"], "b")
    assert emu.messages(chat["id"]) == []
    assert [e["injected"] for e in emu.errors] == [True, True]

    # deliver=True: Telegram got it, the client timed out anyway ("may have been sent").
    emu.delay_next("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(chat["id"], "slow", read_timeout=0.1)
    assert [m["text"] for m in emu.messages(chat["id"])] == ["slow"]

    # deliver=False: the client gave up first, so nothing happened.
    emu.delay_next("sendMessage", 0.5, deliver=False)
    with pytest.raises(TimedOut):
        await bot.send_message(chat["id"], "lost", read_timeout=0.1)
    await emu.wait_for(lambda e: any(c.status == 0 for c in e.requests), timeout=3)
    assert [m["text"] for m in emu.messages(chat["id"])] == ["slow"]


# --------------------------------------------------------------------------- thread variant


def test_thread_variant_from_sync_code():
    with EmulatorThread() as emu:
        user = emu.add_user("Sync", "sync_user")
        chat = emu.add_private_chat(user)

        async def talk() -> list:
            async with Bot(emu.token, base_url=emu.base_url) as bot:
                await bot.send_message(chat["id"], "<b>from</b> a thread", parse_mode=HTML)
                emu.send_text(chat["id"], "/start")
                updates = await bot.get_updates(timeout=1)
                # Async waiters work from a foreign loop too.
                return updates, await emu.wait_for_messages(chat["id"], 1, timeout=2)

        updates, waited = asyncio.run(talk())
        assert [u.message.text for u in updates] == ["/start"]
        assert waited[0]["text"] == "from a thread"
        [message] = emu.wait_for_messages_sync(chat["id"], 1, timeout=2)
        assert message["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
        with pytest.raises(TimeoutError, match="expected 2 bot message"):
            emu.wait_for_messages_sync(chat["id"], 2, timeout=0.2)
    # Inspection still works after the server stopped.
    assert len(emu.messages(chat["id"])) == 1


def test_thread_variant_runs_a_ptb_application():
    with EmulatorThread() as emu:
        chat = emu.add_private_chat(emu.add_user("Ann"))

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.effective_message.reply_text(update.effective_message.text.upper())

        async def run() -> None:
            async with running_app(emu.emulator, MessageHandler(filters.TEXT, echo)):
                emu.send_text(chat["id"], "caspian")
                await emu.wait_for_messages(chat["id"], 1, timeout=5)

        asyncio.run(run())
        assert [m["text"] for m in emu.messages(chat["id"])] == ["CASPIAN"]
