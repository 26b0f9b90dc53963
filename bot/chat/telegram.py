"""The Telegram transport (python-telegram-bot 22): polling, webhook, handlers, sending.

Thin by design: a handler works out who asked and where, runs the command layer in a
worker thread (database work never blocks the event loop) and sends what it returned.
It owns what only Telegram has: reply threading in groups and forum topics, button
answers and message edits, inline mode, per-user flood control, per-chat pacing, the
command menu, the error handler and the webhook server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlparse

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.briefing.messages import OutMessage
from bot.chat.commands import Caller, parse_command
from bot.wiring import App, PeriodicJob

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side while answering that. Please try again in a moment."
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class FloodGate:
    """At most `limit` commands per user in `window` seconds; one notice, then silence."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.recent: dict[int, deque[float]] = {}
        self.noticed: set[int] = set()

    def check(self, user_id: int) -> str:
        """"ok", "notice" (the first refusal in a window) or "silent"."""
        now = self.clock()
        times = self.recent.setdefault(user_id, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self.noticed.discard(user_id)
            return "ok"
        if user_id in self.noticed:
            return "silent"
        self.noticed.add(user_id)
        return "notice"

    def wait_seconds(self, user_id: int) -> int:
        times = self.recent.get(user_id)
        return int(self.window - (self.clock() - times[0])) + 1 if times else 0


class ChatPacer:
    """About one message per second to a chat, with a short burst, as Telegram tolerates.

    python-telegram-bot's AIORateLimiter paces the overall rate and groups, not private
    chats; a reply of several messages goes through here.
    """

    def __init__(self, burst: int = 3, interval: float = 1.1) -> None:
        self.burst, self.interval = burst, interval
        self.state: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last refill)
        self.locks: dict[int, asyncio.Lock] = {}

    async def wait(self, chat_id: int) -> None:
        lock = self.locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            tokens, last = self.state.get(chat_id, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) / self.interval)
            if tokens < 1:
                await asyncio.sleep((1 - tokens) * self.interval)
                now = time.monotonic()
                tokens = 1.0
            self.state[chat_id] = (tokens - 1, now)


def markup_of(message: OutMessage) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.de_json(message.reply_markup, None) if message.reply_markup else None


class TelegramBot:
    def __init__(self, app: App) -> None:
        self.app = app
        settings = app.settings
        self.flood = FloodGate(settings.flood_max_commands, settings.flood_window_seconds)
        self.pacer = ChatPacer()
        self.jobs: list[PeriodicJob] = list(app.periodic_jobs)

    # --- building -----------------------------------------------------------------------

    def build(self, *, updater: bool = True) -> Application:
        settings = self.app.settings
        base = settings.telegram_api_base_url.rstrip("/")
        builder = (
            Application.builder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(base)
            .base_file_url(base.removesuffix("/bot") + "/file/bot")
            .rate_limiter(AIORateLimiter(max_retries=3))
            .concurrent_updates(8)
            .post_init(self.on_startup)
        )
        if not updater:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(MessageHandler(filters.TEXT & ~filters.UpdateType.EDITED, self.on_message))
        application.add_handler(CallbackQueryHandler(self.on_callback))
        application.add_handler(InlineQueryHandler(self.on_inline_query))
        application.add_error_handler(self.on_error)
        for job in self.jobs:
            application.job_queue.run_repeating(
                self._job_runner(job), interval=job.interval_seconds, first=job.first_seconds, name=job.name
            )
        return application

    def _job_runner(self, job: PeriodicJob):  # noqa: ANN202
        async def run(_context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                await job.run(self.app)
            except Exception:  # noqa: BLE001 - a failed tick is logged; the next one runs
                log.exception("periodic job %s failed", job.name)

        return run

    async def on_startup(self, application: Application) -> None:
        """After initialize, before updates flow: run_polling calls it as post_init."""
        commands = [BotCommand(name, description[:256]) for name, description in self.app.commands.menu()]
        await application.bot.set_my_commands(commands)
        log.info("bot @%s ready; %d commands in the menu", application.bot.username, len(commands))

    # --- who is asking ------------------------------------------------------------------

    def _is_bot_admin(self, chat_id: int, user_id: int | None) -> bool:
        admins = self.app.settings.admin_chat_ids
        return chat_id in admins or (user_id is not None and user_id in admins)

    async def _is_chat_admin(self, context: ContextTypes.DEFAULT_TYPE, chat, user_id: int | None) -> bool:  # noqa: ANN001
        if chat.type == ChatType.PRIVATE:
            return True
        if user_id is None:
            return False
        try:
            member = await context.bot.get_chat_member(chat.id, user_id)
        except TelegramError:
            return False
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    @staticmethod
    def _thread_of(message: Message | None) -> int | None:
        if message is not None and message.is_topic_message:
            return message.message_thread_id
        return None

    # --- sending ------------------------------------------------------------------------

    async def send(
        self,
        bot,  # noqa: ANN001
        chat_id: int,
        messages: list[OutMessage],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> None:
        for index, message in enumerate(messages):
            await self.pacer.wait(chat_id)
            await bot.send_message(
                chat_id,
                message.text,
                parse_mode=ParseMode.HTML if message.parse_mode == "HTML" else None,
                reply_markup=markup_of(message),
                link_preview_options=NO_PREVIEW,
                message_thread_id=thread_id,
                reply_parameters=(
                    ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                    if reply_to and index == 0
                    else None
                ),
            )

    # --- handlers -----------------------------------------------------------------------

    async def _flood_ok(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        user = update.effective_user
        if user is None:
            return True
        verdict = self.flood.check(user.id)
        if verdict == "notice":
            wait = self.flood.wait_seconds(user.id)
            await self.send(
                context.bot,
                update.effective_chat.id,
                [OutMessage(f"You are sending commands faster than I can answer. Please wait {wait} s and try again.")],
                reply_to=update.effective_message.message_id if update.effective_chat.type != ChatType.PRIVATE else None,
                thread_id=self._thread_of(update.effective_message),
            )
        return verdict == "ok"

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or not message.text:
            return
        text = message.text
        private = chat.type == ChatType.PRIVATE
        if not private and not text.startswith("/"):
            return  # never answer group chatter
        commands = self.app.commands
        username = context.bot.username
        if not private:
            parsed = parse_command(text, username)
            if parsed is None or parsed[0] not in commands.specs:
                return  # another bot's command, or not one of ours
        if not await self._flood_ok(update, context):
            return
        user_id = user.id if user else None
        needs_admin = commands.changes_chat(text, username) and not private
        caller = Caller(
            chat_id=chat.id,
            chat_type=chat.type,
            user_id=user_id,
            thread_id=self._thread_of(message),
            is_bot_admin=self._is_bot_admin(chat.id, user_id),
            is_chat_admin=await self._is_chat_admin(context, chat, user_id) if needs_admin else private,
        )
        replies = await asyncio.to_thread(commands.handle_text, text, caller, bot_username=username)
        await self.send(
            context.bot,
            chat.id,
            replies,
            reply_to=None if private else message.message_id,
            thread_id=caller.thread_id,
        )

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        message = query.message if isinstance(query.message, Message) else None
        chat = message.chat if message else None
        if chat is None or not query.data:
            await query.answer("This button has expired.")
            return
        prefix = query.data.split("|", 1)[0]
        needs_admin = prefix in self.app.commands.chat_changing_callbacks and chat.type != ChatType.PRIVATE
        caller = Caller(
            chat_id=chat.id,
            chat_type=chat.type,
            user_id=query.from_user.id,
            thread_id=self._thread_of(message),
            is_bot_admin=self._is_bot_admin(chat.id, query.from_user.id),
            is_chat_admin=await self._is_chat_admin(context, chat, query.from_user.id) if needs_admin else True,
        )
        answer = await asyncio.to_thread(self.app.commands.handle_callback, query.data, caller)
        await query.answer(answer.notice[:200] if answer.notice else None, show_alert=answer.alert)
        replies = list(answer.messages)
        if replies and replies[0].edit:
            first = replies.pop(0)
            try:
                await query.edit_message_text(
                    first.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup_of(first),
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    raise
        await self.send(context.bot, chat.id, replies, thread_id=caller.thread_id)

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        if self.flood.check(query.from_user.id) != "ok":
            await query.answer([], cache_time=5)
            return
        cards = await asyncio.to_thread(self.app.commands.inline_cards, query.query[:256])
        username = context.bot.username
        results = [
            InlineQueryResultArticle(
                id=card.id,
                title=card.title,
                description=card.description,
                input_message_content=InputTextMessageContent(
                    card.message.text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Open the full briefing", url=f"https://t.me/{username}?start={card.start_payload}")]]
                ),
            )
            for card in cards[:50]
        ]
        await query.answer(results, cache_time=300)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)
        if isinstance(context.error, (Forbidden, RetryAfter)):
            return
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(
                    update.effective_chat.id,
                    APOLOGY,
                    message_thread_id=self._thread_of(update.effective_message),
                )
            except TelegramError:
                log.warning("could not send the apology for update %s", update_id)


# --- running ---------------------------------------------------------------------------


def run_polling(app: App) -> int:
    application = TelegramBot(app).build()
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


def webhook_path(webhook_url: str) -> str:
    path = urlparse(webhook_url).path
    return path if path and path != "/" else "/telegram"


def make_webhook_server(application: Application, app: App, secret: str, path: str) -> web.Application:
    """aiohttp app: POST `path` with the secret header feeds updates; GET /healthz for the platform."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="bad update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    async def health(_request: web.Request) -> web.Response:
        from sqlalchemy import text

        def check() -> None:
            with app.engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        try:
            await asyncio.to_thread(check)
        except Exception:  # noqa: BLE001 - the platform only needs up or down
            return web.json_response({"ok": False, "database": "unreachable"}, status=503)
        return web.json_response({"ok": True})

    server = web.Application(client_max_size=1024 * 1024)
    server.router.add_post(path, receive)
    server.router.add_get("/healthz", health)
    return server


async def serve_webhook(app: App, *, host: str = "0.0.0.0", stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or `stop`, for tests): the platform's dyno lifecycle."""
    settings = app.settings
    if not settings.webhook_url or settings.webhook_secret is None:
        raise SystemExit("briefbot webhook needs WEBHOOK_URL and WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()
    path = webhook_path(settings.webhook_url)
    bot = TelegramBot(app)
    application = bot.build(updater=False)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with application:
        await bot.on_startup(application)
        await application.start()
        # Listen first, then tell Telegram where to post: no update arrives to a closed port.
        runner = web.AppRunner(make_webhook_server(application, app, secret, path))
        await runner.setup()
        site = web.TCPSite(runner, host, settings.port)
        await site.start()
        await application.bot.set_webhook(
            url=settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
        log.info("webhook listening on %s:%s%s", host, settings.port, path)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await application.stop()


def run_webhook(app: App) -> int:
    asyncio.run(serve_webhook(app))
    return 0
