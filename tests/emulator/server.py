"""A strict, local Telegram Bot API server for tests: ``BotApiEmulator``.

Owns the HTTP side (aiohttp on 127.0.0.1, URLs ``/bot<token>/<method>`` as PTB builds them from
``base_url``), the emulated Telegram state (users, chats, forum topics, messages, updates,
callback and inline queries, commands, webhook), the enforcement of Telegram's rules with
Telegram-shaped errors, and the test-side control API (seed users and chats, inject updates,
inspect what the bot sent, inject faults, wait for outcomes with bounded timeouts).

Threading model: all state lives behind one re-entrant lock so the sync control API may be
called from any thread (see ``EmulatorThread`` in ``thread.py``); request handlers only hold the
lock between awaits. Async waiters called from a foreign event loop are forwarded to the
server's own loop, so ``asyncio.run(...)`` in a sync test can await them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web

from .html import utf16_len
from .limits import Limits, RateLimiter, RateLimitStats
from .validation import (
    ApiError,
    Params,
    bad_request,
    check_inline_results,
    check_reply_markup,
    render_text,
)

__all__ = ["DEFAULT_BOT_USERNAME", "DEFAULT_TOKEN", "ApiCall", "BotApiEmulator"]

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token"
DEFAULT_BOT_USERNAME = "briefbot_test_bot"

_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_PATH_RE = re.compile(r"/bot([^/]*)/([^/]*)")
# Telegram marks a command anywhere it stands as a word of its own, optionally @addressed.
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_START_PARAM_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
)  # fmt: skip
# Telegram's default when allowed_updates is empty or was never given.
_DEFAULT_ALLOWED = frozenset(_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
_SCOPE_TYPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
        "chat_administrators", "chat_member",
    }
)  # fmt: skip
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a previous content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_YET = object()
_DEFAULT = object()


class ApiCall(NamedTuple):
    """One request the bot made: ``(method, params, status)``; status 0 = client gave up."""

    method: str
    params: dict[str, Any]
    status: int


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | str | None
    remaining: int


@dataclass
class _Delay:
    method: str
    seconds: float
    deliver: bool
    chat_id: int | str | None
    remaining: int


@dataclass
class _Message:
    chat_id: int
    message_id: int
    wire: dict[str, Any]
    from_bot: bool
    html: str | None = None
    parse_mode: str | None = None
    sent_markup: dict | None = None
    reply_to_message_id: int | None = None
    edited: int = 0
    deleted: bool = False
    disable_notification: bool = False
    link_preview_options: dict | None = None

    def public(self) -> dict[str, Any]:
        wire = self.wire
        return copy.deepcopy(
            {
                "message_id": self.message_id,
                "chat_id": self.chat_id,
                "date": wire.get("date"),
                "text": wire.get("text"),
                "html": self.html,
                "parse_mode": self.parse_mode,
                "entities": wire.get("entities", []),
                "reply_markup": self.sent_markup,
                "message_thread_id": wire.get("message_thread_id"),
                "reply_to_message_id": self.reply_to_message_id,
                "edited": self.edited,
                "edit_date": wire.get("edit_date"),
                "deleted": self.deleted,
                "disable_notification": self.disable_notification,
                "link_preview_options": self.link_preview_options,
                "message": wire,
            }
        )


@dataclass
class _Chat:
    data: dict[str, Any]
    chat_instance: str
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "member"
    blocked: bool = False
    kicked: bool = False
    started: bool = True
    topics: dict[int, str] = field(default_factory=dict)
    messages: dict[int, _Message] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def id(self) -> int:
        return self.data["id"]

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def is_forum(self) -> bool:
        return bool(self.data.get("is_forum"))

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _Query:
    kind: str
    created: float
    user_id: int
    chat_id: int | None = None
    message_id: int | None = None
    answered: bool = False


class _ClientGone(Exception):
    """The client disconnected before a non-delivering delay ended."""


def _now() -> int:
    return int(time.time())


class BotApiEmulator:
    """Local strict Bot API. Use ``async with BotApiEmulator(**limits) as emu:``.

    Keyword arguments other than the named ones are flood limits (see ``Limits``), e.g.
    ``BotApiEmulator(private_rate=5, private_burst=10)``; ``rate_limits=False`` disables them.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = "Briefbot Test",
        port: int = 0,
        privacy_mode: bool = True,
        inline_mode: bool = True,
        max_long_poll: float = 10.0,
        query_ttl: float = 15.0,
        rate_limits: bool = True,
        limits: Limits | None = None,
        **limit_overrides: Any,
    ):
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"token {token!r} does not look like a Bot API token")
        self.token = token
        self.bot_username = bot_username
        self.privacy_mode = privacy_mode
        self.inline_mode = inline_mode
        self.max_long_poll = max_long_poll
        self.query_ttl = query_ttl
        self._port = port
        base_limits = (limits or Limits()).updated(enabled=rate_limits, **limit_overrides)
        self._limiter = RateLimiter(base_limits)
        self._bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._changed: asyncio.Event | None = None
        self._closed: asyncio.Event | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

        self._users: dict[int, dict] = {}
        self._chats: dict[int, _Chat] = {}
        self._user_seq = itertools.count(1_000_001)
        self._group_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._update_seq = itertools.count(100)
        self._pending: list[dict] = []
        self._update_log: dict[int, dict] = {}
        self._delivered_max = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED
        self._poll_generation = 0
        self._queries: dict[str, _Query] = {}
        self._callback_answers: dict[str, dict] = {}
        self._inline_answers: dict[str, dict] = {}
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._webhook: dict[str, Any] = {}
        self._requests: list[ApiCall] = []
        self._errors: list[dict] = []
        self._chat_actions: list[dict] = []
        self._undelivered: list[dict] = []
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._inflight = 0
        self._last_activity = time.monotonic()

        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {}
        for name, handler in {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "sendMessage": self._m_send_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "answerInlineQuery": self._m_answer_inline_query,
            "sendChatAction": self._m_send_chat_action,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_chat_administrators,
            "close": self._m_ok,
            "logOut": self._m_ok,
        }.items():
            self._methods[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url`` (PTB appends token and method)."""
        if self.port is None:
            raise RuntimeError("emulator is not running")
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def bot_user(self) -> dict:
        return dict(self._bot_user)

    async def start(self) -> BotApiEmulator:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changed = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: long polls are woken on stop, nothing else lingers.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        with self._lock:
            self._closing = True
        if self._closed is not None:
            self._closed.set()
        self._notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ notification

    def _notify(self) -> None:
        """Wake sync and async waiters; callable from any thread."""
        with self._cond:
            self._cond.notify_all()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        with self._lock:
            event, self._changed = self._changed, asyncio.Event()
        if event is not None:
            event.set()

    async def _wait(
        self,
        check: Callable[[], Any],
        timeout: float,
        describe: Callable[[], str],
        poll: float | None = None,
    ) -> Any:
        loop = self._loop
        if loop is None:
            raise RuntimeError("emulator is not running")
        if asyncio.get_running_loop() is not loop:
            future = asyncio.run_coroutine_threadsafe(
                self._wait(check, timeout, describe, poll), loop
            )
            return await asyncio.wrap_future(future)
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                event = self._changed
                value = check()
            if value is not _NOT_YET:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            assert event is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    event.wait(), remaining if poll is None else min(remaining, poll)
                )

    def _wait_sync(
        self,
        check: Callable[[], Any],
        timeout: float,
        describe: Callable[[], str],
        poll: float | None = None,
    ) -> Any:
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                "sync waiters would block the emulator's own event loop; await the async one"
            )
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = check()
                if value is not _NOT_YET:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(describe())
                self._cond.wait(remaining if poll is None else min(remaining, poll))

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the emulator stops."""
        assert self._closed is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = _PATH_RE.fullmatch(request.path)
        if match is None or not _TOKEN_RE.fullmatch(match.group(1)):
            return self._respond(request.path, {}, ApiError(404, "Not Found"))
        token, method = match.groups()
        if token != self.token:
            return self._respond(method, {}, ApiError(401, "Unauthorized"))
        entry = self._methods.get(method.lower())
        if entry is None:
            return self._respond(
                method, {}, ApiError(404, "Not Found"), note="unknown or not emulated method"
            )
        name, handler = entry
        try:
            params = Params(await self._read_params(request))
        except ApiError as exc:
            return self._respond(name, {}, exc)
        polling = name == "getUpdates"
        if not polling:
            with self._lock:
                self._inflight += 1
        try:
            result = await self._dispatch(name, handler, params, request)
        except ApiError as exc:
            return self._respond(name, params, exc)
        except _ClientGone:
            with self._lock:
                self._requests.append(ApiCall(name, params.as_dict(), 0))
            self._notify()
            return web.Response(status=499)
        finally:
            if not polling:
                with self._lock:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
        return self._respond(name, params, result)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return params
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = json.loads(await request.text() or "{}")
            except ValueError:
                raise bad_request("can't parse JSON encoded request parameters") from None
            if not isinstance(body, dict):
                raise bad_request("JSON object expected as request parameters")
            params.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"file_name": value.filename, "size": len(value.file.read())}
                else:
                    params[key] = value
        else:
            # Telegram is lenient about the content type; treat anything else as a query string.
            params.update(parse_qsl(await request.text(), keep_blank_values=True))
        return params

    def _respond(
        self,
        method: str,
        params: Params | dict,
        outcome: Any,
        *,
        note: str | None = None,
    ) -> web.Response:
        logged = params.as_dict() if isinstance(params, Params) else dict(params)
        if isinstance(outcome, ApiError):
            body, status = outcome.to_json(), outcome.error_code
        else:
            body, status = {"ok": True, "result": outcome}, 200
        with self._lock:
            self._requests.append(ApiCall(method, logged, status))
            if isinstance(outcome, ApiError) and not outcome.quiet:
                error = {
                    "method": method,
                    "error_code": outcome.error_code,
                    "description": outcome.description,
                    "chat_id": logged.get("chat_id"),
                    "params": logged,
                    "injected": outcome.injected,
                }
                if outcome.retry_after is not None:
                    error["retry_after"] = outcome.retry_after
                if note:
                    error["note"] = note
                self._errors.append(error)
        self._notify()
        return web.json_response(body, status=status)

    @staticmethod
    def _param_chat(params: Params) -> int | str | None:
        try:
            return params.chat_id(required=False)
        except ApiError:
            return None

    def _take_rule(self, rules: list, method: str, chat: int | str | None) -> Any:
        for rule in rules:
            if rule.method == method.lower() and rule.chat_id in (None, chat):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
                return rule
        return None

    async def _dispatch(
        self, name: str, handler: Callable[..., Any], params: Params, request: web.Request
    ) -> Any:
        chat = self._param_chat(params)
        with self._lock:
            fault = self._take_rule(self._faults, name, chat)
            delay = self._take_rule(self._delays, name, chat)
        if fault is not None:
            error = ApiError(fault.error_code, fault.description, retry_after=fault.retry_after)
            error.injected = True
            raise error
        if delay is not None and not delay.deliver:
            await self._sleep(delay.seconds)
            transport = request.transport
            if transport is None or transport.is_closing():
                raise _ClientGone
        try:
            if asyncio.iscoroutinefunction(handler):
                return await handler(params, request)
            with self._lock:
                return handler(params)
        finally:
            if delay is not None and delay.deliver:
                await self._sleep(delay.seconds)

    # ------------------------------------------------------------------ state helpers

    def _user(self, user: dict | int | None) -> dict:
        if user is None:
            raise ValueError("a user is required")
        user_id = user["id"] if isinstance(user, dict) else int(user)
        if user_id == self._bot_user["id"]:
            return dict(self._bot_user)
        if user_id not in self._users:
            if not isinstance(user, dict):
                raise ValueError(f"unknown user {user_id}; create it with add_user()")
            self._users[user_id] = {"is_bot": False, **user}
        return self._users[user_id]

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(int(chat_id))
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}; create it with add_private_chat/add_group")
        return chat

    def _resolve_chat(self, chat_id: int | str | None) -> _Chat:
        if isinstance(chat_id, str):
            wanted = chat_id[1:].lower()
            for chat in self._chats.values():
                if chat.type != "private" and chat.data.get("username", "").lower() == wanted:
                    return chat
            raise bad_request("chat not found")
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _check_can_write(self, chat: _Chat) -> None:
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat.kicked:
            kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")

    def _acquire_rate(self, method: str, chat: _Chat) -> None:
        retry_after = self._limiter.acquire(method, chat.id, chat.type)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _check_thread(self, chat: _Chat, thread_id: int | None) -> int | None:
        if thread_id is None or thread_id == 0:
            return None
        if chat.is_forum and thread_id in chat.topics:
            return thread_id
        raise bad_request("message thread not found")

    def _check_reply(self, chat: _Chat, params: Params) -> tuple[_Message | None, int | None]:
        """Return (replied message if in this chat, replied message id) or raise."""
        reply = params.json("reply_parameters", what="reply parameters")
        if reply is None:
            legacy = params.int("reply_to_message_id")
            if legacy is None:
                return None, None
            reply = {
                "message_id": legacy,
                "allow_sending_without_reply": params.bool("allow_sending_without_reply"),
            }
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        target = chat
        if reply.get("chat_id") not in (None, chat.id):
            try:
                target = self._resolve_chat(reply["chat_id"])
            except ApiError:
                raise bad_request("message to be replied not found") from None
        message = target.messages.get(reply["message_id"])
        if message is None or message.deleted:
            if reply.get("allow_sending_without_reply"):
                return None, None
            raise bad_request("message to be replied not found")
        quote = reply.get("quote")
        if quote is not None and quote not in (message.wire.get("text") or ""):
            raise bad_request("quote not found")
        return (message if target is chat else None), message.message_id

    def _base_wire(
        self,
        chat: _Chat,
        message_id: int,
        sender: dict,
        thread_id: int | None,
        reply: _Message | None,
    ) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat.data),
            "date": _now(),
        }
        if thread_id is not None:
            wire["message_thread_id"] = thread_id
            wire["is_topic_message"] = True
            # In a topic Telegram points reply_to_message at the topic's creation message
            # unless the message replies to something else.
            if reply is None:
                reply = chat.messages.get(thread_id)
        if reply is not None:
            replied = copy.deepcopy(reply.wire)
            replied.pop("reply_to_message", None)
            wire["reply_to_message"] = replied
        return wire

    def _queue_update(self, update: dict[str, Any]) -> int:
        if "update_id" not in update:
            update = {"update_id": next(self._update_seq), **update}
        update_id = update["update_id"]
        self._pending.append(update)
        self._update_log[update_id] = update
        self._notify()
        return update_id

    @staticmethod
    def _update_type(update: dict) -> str | None:
        return next((key for key in update if key != "update_id"), None)

    # ------------------------------------------------------------------ Bot API methods

    def _m_ok(self, params: Params) -> bool:
        return True

    def _m_get_me(self, params: Params) -> dict:
        return {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, params: Params, request: web.Request) -> list[dict]:
        assert self._loop is not None
        with self._lock:
            if self._webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = params.int("offset")
            limit = params.int("limit") or 100
            limit = min(max(limit, 1), 100)
            timeout = max(0.0, min(params.float("timeout") or 0.0, self.max_long_poll))
            allowed = params.json("allowed_updates")
            if allowed is not None:
                if not isinstance(allowed, list):
                    raise bad_request("can't parse allowed updates JSON object")
                self._allowed_updates = frozenset(allowed) or _DEFAULT_ALLOWED
            if offset is not None:
                if offset < 0:
                    self._pending = self._pending[offset:]
                else:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
        self._notify()  # wakes an older long poll so it can learn it was superseded
        deadline = self._loop.time() + timeout
        while True:
            with self._lock:
                event = self._changed
                if generation != self._poll_generation:
                    superseded = True
                else:
                    superseded = False
                    self._pending = [
                        u for u in self._pending if self._update_type(u) in self._allowed_updates
                    ]
                    batch = copy.deepcopy(self._pending[:limit])
                    if batch or self._closing or self._loop.time() >= deadline:
                        if batch:
                            self._delivered_max = max(self._delivered_max, batch[-1]["update_id"])
                        return batch
            if superseded:
                # Telegram answers the older of two concurrent polls with 409. A client that
                # already gave up (PTB cancels its poll on stop) never sees it, so keep it out
                # of emu.errors.
                await asyncio.sleep(0.1)
                error = ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
                transport = request.transport
                error.quiet = transport is None or transport.is_closing()
                raise error
            assert event is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, deadline - self._loop.time()))

    def _m_set_webhook(self, params: Params) -> bool:
        url = params.str("url", required="url is empty") if "url" in params else ""
        if not url:
            return self._m_delete_webhook(params)
        parts = urlsplit(url)
        # Real Telegram insists on HTTPS; plain http is allowed here for local test servers.
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.str("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed updates JSON object")
            self._allowed_updates = frozenset(allowed) or _DEFAULT_ALLOWED
        if params.bool("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max_connections,
            "ip_address": params.str("ip_address"),
            "allowed_updates": sorted(allowed) if allowed else None,
            "has_custom_certificate": "certificate" in params,
        }
        return True

    def _m_delete_webhook(self, params: Params) -> bool:
        if params.bool("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {}
        return True

    def _m_get_webhook_info(self, params: Params) -> dict:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": bool(hook.get("has_custom_certificate")),
            "pending_update_count": len(self._pending),
        }
        if hook.get("url"):
            info["max_connections"] = hook["max_connections"]
            if hook.get("ip_address"):
                info["ip_address"] = hook["ip_address"]
            if hook.get("allowed_updates"):
                info["allowed_updates"] = hook["allowed_updates"]
        return info

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        if "chat_id" in scope:
            self._resolve_chat(Params(scope).chat_id())
        language = params.str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _m_set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        key = self._command_key(params)
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _m_get_my_commands(self, params: Params) -> list[dict]:
        return copy.deepcopy(self._commands.get(self._command_key(params), []))

    def _m_delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _m_send_message(self, params: Params) -> dict:
        chat = self._resolve_chat(params.chat_id())
        self._check_can_write(chat)
        html = params.str("text")
        text, entities, mode = render_text(html, params.str("parse_mode"), params.json("entities"))
        markup = check_reply_markup(params.json("reply_markup", what="reply keyboard markup"))
        thread_id = self._check_thread(chat, params.int("message_thread_id"))
        reply, reply_id = self._check_reply(chat, params)
        if thread_id is None and reply is not None and reply.wire.get("is_topic_message"):
            # Telegram keeps a reply in the topic of the message it answers.
            thread_id = reply.wire.get("message_thread_id")
        link_preview = params.json("link_preview_options", what="link preview options")
        if link_preview is not None and not isinstance(link_preview, dict):
            raise bad_request("can't parse link preview options JSON object")
        self._acquire_rate("sendMessage", chat)
        message_id = chat.new_message_id()
        wire = self._base_wire(chat, message_id, self._bot_user, thread_id, reply)
        wire["text"] = text
        if entities:
            wire["entities"] = entities
        if markup and "inline_keyboard" in markup:
            wire["reply_markup"] = markup
        chat.messages[message_id] = _Message(
            chat_id=chat.id,
            message_id=message_id,
            wire=wire,
            from_bot=True,
            html=html,
            parse_mode=mode,
            sent_markup=markup,
            reply_to_message_id=reply_id,
            disable_notification=params.bool("disable_notification"),
            link_preview_options=link_preview,
        )
        self._notify()
        return copy.deepcopy(wire)

    def _editable(self, params: Params) -> tuple[_Chat, _Message]:
        if params.str("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params.chat_id())
        self._check_can_write(chat)
        message_id = params.int("message_id", required="message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot or "text" not in message.wire:
            raise bad_request("message can't be edited")
        return chat, message

    def _m_edit_message_text(self, params: Params) -> dict:
        chat, message = self._editable(params)
        html = params.str("text")
        text, entities, mode = render_text(html, params.str("parse_mode"), params.json("entities"))
        markup = check_reply_markup(
            params.json("reply_markup", what="reply keyboard markup"), inline_only=True
        )
        wire = message.wire
        if (text, entities, markup) == (
            wire.get("text"),
            wire.get("entities", []),
            wire.get("reply_markup"),
        ):
            raise bad_request(_NOT_MODIFIED)
        self._acquire_rate("editMessageText", chat)
        wire["text"] = text
        wire.pop("entities", None)
        if entities:
            wire["entities"] = entities
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        wire.pop("reply_markup", None)
        if markup:
            wire["reply_markup"] = markup
        wire["edit_date"] = _now()
        message.html, message.parse_mode, message.sent_markup = html, mode, markup
        message.edited += 1
        self._notify()
        return copy.deepcopy(wire)

    def _m_edit_message_reply_markup(self, params: Params) -> dict:
        chat, message = self._editable(params)
        markup = check_reply_markup(
            params.json("reply_markup", what="reply keyboard markup"), inline_only=True
        )
        if markup == message.wire.get("reply_markup"):
            raise bad_request(_NOT_MODIFIED)
        self._acquire_rate("editMessageReplyMarkup", chat)
        message.wire.pop("reply_markup", None)
        if markup:
            message.wire["reply_markup"] = markup
        message.wire["edit_date"] = _now()
        message.sent_markup = markup
        message.edited += 1
        self._notify()
        return copy.deepcopy(message.wire)

    def _m_delete_message(self, params: Params) -> bool:
        chat = self._resolve_chat(params.chat_id())
        self._check_can_write(chat)
        message_id = params.int("message_id", required="message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        if (
            not message.from_bot
            and chat.type != "private"
            and chat.bot_status not in ("administrator", "creator")
        ):
            raise bad_request("message can't be deleted")
        message.deleted = True
        self._notify()
        return True

    def _live_query(self, query_id: str | None, kind: str) -> _Query:
        query = self._queries.get(query_id or "")
        if (
            query is None
            or query.kind != kind
            or query.answered
            or time.monotonic() - query.created > self.query_ttl
        ):
            raise bad_request(_QUERY_INVALID)
        return query

    def _m_answer_callback_query(self, params: Params) -> bool:
        query_id = params.str("callback_query_id", required="query_id is empty")
        query = self._live_query(query_id, "callback")
        text = params.str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = {
            "text": text,
            "show_alert": params.bool("show_alert"),
            "url": params.str("url"),
            "cache_time": params.int("cache_time"),
        }
        query.answered = True
        assert query_id is not None
        self._callback_answers[query_id] = answer
        self._notify()
        return True

    def _m_answer_inline_query(self, params: Params) -> bool:
        query_id = params.str("inline_query_id", required="query_id is empty")
        query = self._live_query(query_id, "inline")
        results = check_inline_results(params.json("results", what="inline query results"))
        next_offset = params.str("next_offset")
        if next_offset is not None and len(next_offset.encode("utf-8")) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        button = params.json("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            start = button.get("start_parameter")
            if "web_app" not in button and (
                not isinstance(start, str) or not _START_PARAM_RE.fullmatch(start)
            ):
                raise bad_request("START_PARAM_INVALID")
        answer = {
            "results": results,
            "cache_time": params.int("cache_time"),
            "is_personal": params.bool("is_personal"),
            "next_offset": next_offset,
            "button": button,
        }
        query.answered = True
        assert query_id is not None
        self._inline_answers[query_id] = answer
        self._notify()
        return True

    def _m_send_chat_action(self, params: Params) -> bool:
        chat = self._resolve_chat(params.chat_id())
        self._check_can_write(chat)
        action = params.str("action", required="action is empty")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        thread_id = self._check_thread(chat, params.int("message_thread_id"))
        self._chat_actions.append({"chat_id": chat.id, "action": action, "thread_id": thread_id})
        self._notify()
        return True

    def _m_get_chat(self, params: Params) -> dict:
        chat = self._resolve_chat(params.chat_id())
        if chat.type != "private":
            self._check_can_write(chat)
        info = {
            **chat.data,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.type != "private":
            info["permissions"] = {"can_send_messages": True}
        return info

    def _member(self, chat: _Chat, user_id: int) -> dict:
        if user_id == self._bot_user["id"]:
            status, user = chat.bot_status, self.bot_user
            if chat.kicked:
                status = "kicked"
        else:
            if user_id not in self._users:
                raise bad_request("user not found")
            user = dict(self._users[user_id])
            status = chat.members.get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
            if chat.is_forum:
                member["can_manage_topics"] = True
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _m_get_chat_member(self, params: Params) -> dict:
        chat = self._resolve_chat(params.chat_id())
        user_id = params.int("user_id", required="user not found")
        assert user_id is not None
        return self._member(chat, user_id)

    def _m_get_chat_administrators(self, params: Params) -> list[dict]:
        chat = self._resolve_chat(params.chat_id())
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        self._check_can_write(chat)
        ids = [uid for uid, s in chat.members.items() if s in ("creator", "administrator")]
        if chat.bot_status in ("creator", "administrator"):
            ids.append(self._bot_user["id"])
        return [self._member(chat, uid) for uid in ids]

    # ------------------------------------------------------------------ control API: world

    def add_user(
        self,
        first_name: str = "Ann",
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> dict:
        """Register a human user; returns the Telegram User dict."""
        with self._lock:
            uid = user_id if user_id is not None else next(self._user_seq)
            user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
            if last_name:
                user["last_name"] = last_name
            if username:
                user["username"] = username
            if language_code:
                user["language_code"] = language_code
            self._users[uid] = user
            return dict(user)

    def add_private_chat(self, user: dict | int, *, started: bool = True) -> dict:
        """The user's private chat with the bot (chat id == user id); returns the Chat dict.

        ``started=False`` models a user who never pressed Start: sends get 403.
        """
        with self._lock:
            user = self._user(user)
            data = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if user.get(key):
                    data[key] = user[key]
            chat = _Chat(data, chat_instance=str(random.getrandbits(63)), started=started)
            chat.members[user["id"]] = "member"
            self._chats[user["id"]] = chat
            return dict(data)

    def add_group(
        self,
        title: str,
        members: Iterable[dict | int] = (),
        admins: Iterable[dict | int] = (),
        forum: bool = False,
        supergroup: bool = True,
        *,
        username: str | None = None,
        owner: dict | int | None = None,
        bot_is_admin: bool = False,
    ) -> dict:
        """Create a group the bot is in; returns the Chat dict.

        The owner ("creator") is ``owner`` or else the first of ``admins``. A forum must be a
        supergroup. ``bot_is_admin`` makes the bot see every message despite privacy mode.
        """
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        with self._lock:
            n = next(self._group_seq)
            chat_id = -(1_001_000_000_000 + n) if supergroup else -(500_000 + n)
            data: dict[str, Any] = {
                "id": chat_id,
                "type": "supergroup" if supergroup else "group",
                "title": title,
            }
            if username:
                data["username"] = username
            if forum:
                data["is_forum"] = True
            chat = _Chat(
                data,
                chat_instance=str(random.getrandbits(63)),
                bot_status="administrator" if bot_is_admin else "member",
                # Message 1 of a forum is the General topic's creation.
                next_message_id=2 if forum else 1,
            )
            for user in members:
                chat.members[self._user(user)["id"]] = "member"
            admin_ids = [self._user(user)["id"] for user in admins]
            for uid in admin_ids:
                chat.members[uid] = "administrator"
            owner_id = self._user(owner)["id"] if owner is not None else None
            if owner_id is None and admin_ids:
                owner_id = admin_ids[0]
            if owner_id is not None:
                chat.members[owner_id] = "creator"
            self._chats[chat_id] = chat
            return dict(data)

    def add_forum_topic(self, chat_id: int, name: str) -> int:
        """Create a topic in a forum supergroup; returns its message_thread_id."""
        with self._lock:
            chat = self._chat(chat_id)
            if not chat.is_forum:
                raise ValueError(f"chat {chat_id} is not a forum")
            thread_id = chat.new_message_id()
            wire = {
                "message_id": thread_id,
                "from": dict(self._bot_user),
                "chat": dict(chat.data),
                "date": _now(),
                "message_thread_id": thread_id,
                "is_topic_message": True,
                "forum_topic_created": {"name": name, "icon_color": 7322096},
            }
            chat.messages[thread_id] = _Message(chat.id, thread_id, wire, from_bot=False)
            chat.topics[thread_id] = name
            return thread_id

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends to this private chat get 403 from now on.

        send_text() into the chat still delivers, so a test can model "blocked, then wrote"."""
        with self._lock:
            chat = self._chat(chat_id)
            if chat.type != "private":
                raise ValueError("block() is for private chats; use kick() for groups")
            chat.blocked = True

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._chat(chat_id).blocked = False

    def kick(self, chat_id: int) -> None:
        """The bot is removed from a group: sends get 403, messages there are not delivered."""
        with self._lock:
            chat = self._chat(chat_id)
            if chat.type == "private":
                raise ValueError("kick() is for groups; use block() for private chats")
            chat.kicked = True

    def unkick(self, chat_id: int) -> None:
        with self._lock:
            self._chat(chat_id).kicked = False

    # ------------------------------------------------------------------ control API: updates

    def add_update(self, update: dict) -> int:
        """Queue a raw update (update_id is assigned if missing); returns its update_id."""
        with self._lock:
            return self._queue_update(copy.deepcopy(update))

    def send_text(
        self,
        chat_id: int,
        text: str,
        from_user: dict | int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int | None:
        """A user sends ``text``; returns the update_id, or None when Telegram would not
        deliver it to the bot (privacy mode in groups, or the bot was kicked).

        Commands get a bot_command entity ("/cmd" or "/cmd@botname"), @names a mention entity.
        In privacy mode (the default, as for new bots) a non-admin bot in a group only receives
        commands meant for it, replies to its messages and messages mentioning it.
        """
        with self._lock:
            chat = self._chat(chat_id)
            if from_user is None:
                sender = self._default_sender(chat)
            else:
                sender = self._user(from_user)
            if thread_id is not None and (not chat.is_forum or thread_id not in chat.topics):
                raise ValueError(f"chat {chat_id} has no forum topic {thread_id}")
            reply = None
            if reply_to is not None:
                reply = chat.messages.get(reply_to)
                if reply is None or reply.deleted:
                    raise ValueError(f"chat {chat_id} has no message {reply_to}")
                if thread_id is None and reply.wire.get("is_topic_message"):
                    thread_id = reply.wire.get("message_thread_id")
            message_id = chat.new_message_id()
            wire = self._base_wire(chat, message_id, sender, thread_id, reply)
            wire["text"] = text
            entities = self._auto_entities(text)
            if entities:
                wire["entities"] = entities
            chat.messages[message_id] = _Message(
                chat.id, message_id, wire, from_bot=False, reply_to_message_id=reply_to
            )
            if chat.type == "private":
                # Writing to a bot is only possible after pressing Start.
                chat.started = True
            if not self._bot_sees(chat, text, reply):
                self._undelivered.append(copy.deepcopy(wire))
                log.info("message %s in chat %s not delivered to the bot", message_id, chat.id)
                return None
            return self._queue_update({"message": wire})

    def _default_sender(self, chat: _Chat) -> dict:
        if chat.type == "private":
            return self._users[chat.id]
        for uid in chat.members:
            if uid in self._users:
                return self._users[uid]
        raise ValueError(f"chat {chat.id} has no members; pass from_user")

    def _auto_entities(self, text: str) -> list[dict]:
        entities = []
        for kind, pattern in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE)):
            for m in pattern.finditer(text):
                entities.append(
                    {
                        "type": kind,
                        "offset": utf16_len(text[: m.start()]),
                        "length": utf16_len(m.group(0)),
                    }
                )
        entities.sort(key=lambda e: e["offset"])
        return entities

    def _bot_sees(self, chat: _Chat, text: str, reply: _Message | None) -> bool:
        if chat.type == "private":
            return True
        if chat.kicked:
            return False
        if not self.privacy_mode or chat.bot_status in ("administrator", "creator"):
            return True
        if reply is not None and reply.from_bot:
            return True
        me = self.bot_username.lower()
        for m in _COMMAND_RE.finditer(text):
            _, _, addressee = m.group(0).partition("@")
            if not addressee or addressee.lower() == me:
                return True
        return any(m.group(0)[1:].lower() == me for m in _MENTION_RE.finditer(text))

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        from_user: dict | int | None = None,
    ) -> str:
        """A user presses an inline button of a bot message; returns the callback_query_id.

        Raises ValueError if that message has no button with this callback_data, because a
        real user could not press it either.
        """
        with self._lock:
            chat = self._chat(chat_id)
            message = chat.messages.get(message_id)
            if message is None or message.deleted or not message.from_bot:
                raise ValueError(f"chat {chat_id} has no bot message {message_id}")
            buttons = [
                button
                for row in (message.wire.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
            ]
            if not any(b.get("callback_data") == callback_data for b in buttons):
                raise ValueError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"it has {[b.get('callback_data') for b in buttons]}"
                )
            sender = self._default_sender(chat) if from_user is None else self._user(from_user)
            query_id = str(4_000_000_000_000_000_000 + next(self._query_seq))
            self._queries[query_id] = _Query(
                "callback", time.monotonic(), sender["id"], chat.id, message_id
            )
            self._queue_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": dict(sender),
                        "message": copy.deepcopy(message.wire),
                        "chat_instance": chat.chat_instance,
                        "data": callback_data,
                    }
                }
            )
            return query_id

    def inline_query(
        self, from_user: dict | int, query: str, offset: str = "", *, chat_type: str = "sender"
    ) -> str:
        """A user types ``@bot query``; returns the inline_query_id."""
        if not self.inline_mode:
            raise ValueError("inline mode is off for this bot (inline_mode=False)")
        with self._lock:
            sender = self._user(from_user)
            query_id = str(5_000_000_000_000_000_000 + next(self._query_seq))
            self._queries[query_id] = _Query("inline", time.monotonic(), sender["id"])
            self._queue_update(
                {
                    "inline_query": {
                        "id": query_id,
                        "from": dict(sender),
                        "query": query,
                        "offset": offset,
                        "chat_type": chat_type,
                    }
                }
            )
            return query_id

    def get_update(self, update_id: int) -> dict:
        """The update with this id (delivered or not), e.g. to learn a message_id."""
        with self._lock:
            return copy.deepcopy(self._update_log[update_id])

    # ------------------------------------------------------------------ control API: inspection

    def messages(
        self, chat_id: int, thread_id: int | None = None, *, include_deleted: bool = False
    ) -> list[dict]:
        """What the bot sent to the chat, current state after edits, oldest first.

        ``thread_id=None`` means every thread; otherwise only that forum topic.
        """
        with self._lock:
            return self._bot_messages(chat_id, thread_id, include_deleted)

    def _bot_messages(
        self, chat_id: int, thread_id: int | None, include_deleted: bool = False
    ) -> list[dict]:
        chat = self._chat(chat_id)
        return [
            m.public()
            for _, m in sorted(chat.messages.items())
            if m.from_bot
            and (include_deleted or not m.deleted)
            and (thread_id is None or m.wire.get("message_thread_id") == thread_id)
        ]

    def message(self, chat_id: int, message_id: int) -> dict:
        """Any message of the chat (the bot's or a user's) by id."""
        with self._lock:
            return self._chat(chat_id).messages[message_id].public()

    @property
    def callback_answers(self) -> dict[str, dict]:
        with self._lock:
            return copy.deepcopy(self._callback_answers)

    @property
    def inline_answers(self) -> dict[str, dict]:
        with self._lock:
            return copy.deepcopy(self._inline_answers)

    @property
    def my_commands(self) -> list[dict]:
        """Commands for the default scope and no language."""
        return self.commands_for()

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        with self._lock:
            return copy.deepcopy(self._commands.get(key, []))

    @property
    def webhook(self) -> dict:
        """{} when no webhook, else url, secret_token, max_connections, allowed_updates, ..."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def requests(self) -> list[ApiCall]:
        with self._lock:
            return list(self._requests)

    def calls(self, method: str) -> list[dict]:
        """Params of every request to ``method`` (case-insensitive), oldest first."""
        with self._lock:
            return [c.params for c in self._requests if c.method.lower() == method.lower()]

    @property
    def rate_limited(self) -> RateLimitStats:
        with self._lock:
            return self._limiter.snapshot()

    @property
    def errors(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._errors)

    @property
    def chat_actions(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._chat_actions)

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset (or a 2xx webhook delivery)."""
        with self._lock:
            return copy.deepcopy(self._pending)

    @property
    def undelivered(self) -> list[dict]:
        """User messages Telegram would not have shown the bot (see send_text)."""
        with self._lock:
            return copy.deepcopy(self._undelivered)

    @property
    def limits(self) -> Limits:
        with self._lock:
            return self._limiter.limits

    # ------------------------------------------------------------------ control API: faults

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        count: int = 1,
    ) -> None:
        """The next ``count`` calls of ``method`` (to ``chat_id`` if given) fail like this.

        Nothing is delivered. With ``retry_after`` the response carries
        ``parameters.retry_after`` (PTB raises RetryAfter).
        """
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if retry_after
                else {403: "Forbidden: injected failure", 500: "Internal Server Error"}.get(
                    error_code, "Bad Request: injected failure"
                )
            )
        with self._lock:
            self._faults.append(
                _Fault(method.lower(), error_code, description, retry_after, chat_id, count)
            )

    def delay_next(
        self,
        method: str,
        seconds: float,
        deliver: bool = True,
        *,
        chat_id: int | str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` only after ``seconds``.

        deliver=True: the call takes effect first, then the response is delayed, so a client
        timeout means "may have reached Telegram". deliver=False: the delay comes first and if
        the client has gone by then the call has no effect.
        """
        with self._lock:
            self._delays.append(_Delay(method.lower(), seconds, deliver, chat_id, count))

    def set_limits(self, **changes: Any) -> None:
        """Change flood limits at run time (fields of ``Limits``); buckets start full again."""
        with self._lock:
            self._limiter.reset(self._limiter.limits.updated(**changes))

    def reset_rate_limits(self) -> None:
        """Refill every bucket, keeping the limits and the 429 statistics."""
        with self._lock:
            self._limiter.reset()

    # ------------------------------------------------------------------ control API: waiting

    def _messages_check(self, chat_id: int, count: int, thread_id: int | None) -> Callable:
        def check() -> Any:
            found = self._bot_messages(chat_id, thread_id)
            return found if len(found) >= count else _NOT_YET

        return check

    def _messages_describe(self, chat_id: int, count: int, thread_id: int | None, timeout: float):
        def describe() -> str:
            with self._lock:
                found = [m["text"] for m in self._bot_messages(chat_id, thread_id)]
                errors = [(e["method"], e["description"]) for e in self._errors[-5:]]
            where = f"chat {chat_id}" + (f" thread {thread_id}" if thread_id else "")
            return (
                f"expected {count} bot message(s) in {where} within {timeout}s, got "
                f"{len(found)}: {found!r}; last API errors: {errors!r}"
            )

        return describe

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, thread_id: int | None = None
    ) -> list[dict]:
        """Wait until the bot has sent at least ``count`` messages (in total) to the chat."""
        return await self._wait(
            self._messages_check(chat_id, count, thread_id),
            timeout,
            self._messages_describe(chat_id, count, thread_id, timeout),
        )

    def wait_for_messages_sync(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, thread_id: int | None = None
    ) -> list[dict]:
        return self._wait_sync(
            self._messages_check(chat_id, count, thread_id),
            timeout,
            self._messages_describe(chat_id, count, thread_id, timeout),
        )

    def _answer_check(self, store: dict, query_id: str) -> Callable:
        return lambda: copy.deepcopy(store[query_id]) if query_id in store else _NOT_YET

    def _answer_describe(self, kind: str, query_id: str, timeout: float) -> Callable[[], str]:
        def describe() -> str:
            with self._lock:
                errors = [(e["method"], e["description"]) for e in self._errors[-5:]]
            return f"{kind} query {query_id} not answered within {timeout}s; last API errors: {errors!r}"

        return describe

    async def wait_for_callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> dict:
        return await self._wait(
            self._answer_check(self._callback_answers, callback_query_id),
            timeout,
            self._answer_describe("callback", callback_query_id, timeout),
        )

    def wait_for_callback_answer_sync(self, callback_query_id: str, timeout: float = 5.0) -> dict:
        return self._wait_sync(
            self._answer_check(self._callback_answers, callback_query_id),
            timeout,
            self._answer_describe("callback", callback_query_id, timeout),
        )

    async def wait_for_inline_answer(self, inline_query_id: str, timeout: float = 5.0) -> dict:
        return await self._wait(
            self._answer_check(self._inline_answers, inline_query_id),
            timeout,
            self._answer_describe("inline", inline_query_id, timeout),
        )

    def wait_for_inline_answer_sync(self, inline_query_id: str, timeout: float = 5.0) -> dict:
        return self._wait_sync(
            self._answer_check(self._inline_answers, inline_query_id),
            timeout,
            self._answer_describe("inline", inline_query_id, timeout),
        )

    def _predicate_check(self, predicate: Callable[[BotApiEmulator], Any]) -> Callable:
        def check() -> Any:
            value = predicate(self)
            return value if value else _NOT_YET

        return check

    async def wait_for(
        self,
        predicate: Callable[[BotApiEmulator], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate(emu)`` is truthy (re-checked on every state change);
        returns its value. E.g. ``await emu.wait_for(lambda e: e.messages(c)[0]["edited"])``."""
        return await self._wait(
            self._predicate_check(predicate),
            timeout,
            lambda: f"{what} not met within {timeout}s; last API errors: {self._errors[-5:]!r}",
        )

    def wait_for_sync(
        self,
        predicate: Callable[[BotApiEmulator], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        return self._wait_sync(
            self._predicate_check(predicate),
            timeout,
            lambda: f"{what} not met within {timeout}s; last API errors: {self._errors[-5:]!r}",
        )

    def _call_check(self, method: str, count: int) -> Callable:
        def check() -> Any:
            found = [c for c in self._requests if c.method.lower() == method.lower()]
            return found if len(found) >= count else _NOT_YET

        return check

    async def wait_for_call(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[ApiCall]:
        """Wait until ``method`` was called (and answered) at least ``count`` times."""
        return await self._wait(
            self._call_check(method, count),
            timeout,
            lambda: f"{method} was not called {count} time(s) within {timeout}s",
        )

    def wait_for_call_sync(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[ApiCall]:
        return self._wait_sync(
            self._call_check(method, count),
            timeout,
            lambda: f"{method} was not called {count} time(s) within {timeout}s",
        )

    def _idle_check(self, quiet: float) -> Callable:
        def check() -> Any:
            delivered = all(u["update_id"] <= self._delivered_max for u in self._pending)
            calm = time.monotonic() - self._last_activity >= quiet
            return True if delivered and self._inflight == 0 and calm else _NOT_YET

        return check

    async def wait_until_idle(self, timeout: float = 5.0, quiet: float = 0.2) -> None:
        """Wait until every update was fetched, no request is running and none started for
        ``quiet`` seconds. A heuristic for "the bot has finished reacting"."""
        await self._wait(self._idle_check(quiet), timeout, self._idle_describe(timeout), quiet / 2)

    def wait_until_idle_sync(self, timeout: float = 5.0, quiet: float = 0.2) -> None:
        self._wait_sync(self._idle_check(quiet), timeout, self._idle_describe(timeout), quiet / 2)

    def _idle_describe(self, timeout: float) -> Callable[[], str]:
        def describe() -> str:
            with self._lock:
                unfetched = [
                    u["update_id"] for u in self._pending if u["update_id"] > self._delivered_max
                ]
                running = self._inflight
            return (
                f"bot did not become idle within {timeout}s: updates never fetched "
                f"{unfetched} (is the bot polling?), requests running: {running}"
            )

        return describe

    # ------------------------------------------------------------------ control API: webhook

    async def post_to_webhook(
        self, update: dict | int, *, secret: Any = _DEFAULT, timeout: float = 5.0
    ) -> int:
        """POST an update (dict, or the update_id of a queued one) to the registered webhook,
        as Telegram does; returns the HTTP status. ``secret`` overrides the header value
        (None omits it); by default the registered secret_token is sent. A 2xx confirms the
        update, as it does on Telegram."""
        with self._lock:
            url = self._webhook.get("url")
            if not url:
                raise RuntimeError("no webhook registered (the bot never called setWebhook)")
            body = copy.deepcopy(self._update_log[update] if isinstance(update, int) else update)
            token = self._webhook.get("secret_token") if secret is _DEFAULT else secret
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with aiohttp.ClientSession() as session:
            async with session.post(
                url,
                data=json.dumps(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                status = response.status
        if 200 <= status < 300 and "update_id" in body:
            with self._lock:
                self._pending = [u for u in self._pending if u["update_id"] != body["update_id"]]
            self._notify()
        return status
