"""Sending within Telegram's limits: one paced queue for every send, and what each error means.

Owns the pacing (at most `rate` messages a second overall with no burst, at most one per
`per_chat_interval` to a chat, at most 20 a minute to a group, and a pause of the WHOLE
queue when Telegram answers 429), the classification of python-telegram-bot's errors into
what the outbox should do, and the plain `telegram.Bot` used to send (no AIORateLimiter:
pacing is done here, so that a 429 never happens in the first place).

Error classes, most specific first (BadRequest and TimedOut are NetworkError subclasses):
    RetryAfter                  -> pause the queue for retry_after, then the same part again
    ChatMigrated, Forbidden,
    BadRequest "chat not found" -> the chat is gone: inactive, settings kept, not retried
    BadRequest "thread not found" -> that forum topic's subscription ends
    BadRequest (other)          -> failed, logged with the template at fault
    InvalidToken                -> stop the run: nothing can be sent
    TimedOut from ConnectTimeout/PoolTimeout, NetworkError from ConnectError or an
    error answer from the server -> never reached Telegram: retry with backoff
    TimedOut (read/write) and other NetworkErrors -> may have reached Telegram: uncertain,
    not resent blindly
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import heapq
import itertools
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

GROUP_PER_MINUTE = 20
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# --- what an error means ------------------------------------------------------------------


class Verdict(enum.Enum):
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"  # never reached Telegram
    UNCERTAIN = "uncertain"  # may have reached Telegram
    CHAT_GONE = "chat_gone"
    THREAD_GONE = "thread_gone"
    FAILED = "failed"
    BAD_TOKEN = "bad_token"


@dataclass(frozen=True)
class Classified:
    verdict: Verdict
    detail: str
    retry_after: float = 0.0


_CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was blocked",
    "bot was kicked",
    "not enough rights to send",
    "have no rights to send",
    "chat_write_forbidden",
    "group chat was deactivated",
)
_THREAD_GONE = ("message thread not found", "topic_closed", "topic closed", "topic_deleted")
_NOT_SENT_CAUSES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns about the int form of retry_after on access.
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def classify(error: BaseException) -> Classified:
    detail = f"{type(error).__name__}: {error}"[:1000]
    if isinstance(error, RetryAfter):
        return Classified(Verdict.RATE_LIMITED, detail, retry_seconds(error))
    if isinstance(error, ChatMigrated):
        return Classified(Verdict.CHAT_GONE, f"group migrated to supergroup {error.new_chat_id}")
    if isinstance(error, Forbidden):
        return Classified(Verdict.CHAT_GONE, detail)
    if isinstance(error, InvalidToken):
        return Classified(Verdict.BAD_TOKEN, detail)
    if isinstance(error, BadRequest):
        message = str(error).lower()
        if any(marker in message for marker in _CHAT_GONE):
            return Classified(Verdict.CHAT_GONE, detail)
        if any(marker in message for marker in _THREAD_GONE):
            return Classified(Verdict.THREAD_GONE, detail)
        return Classified(Verdict.FAILED, detail)
    if isinstance(error, TimedOut):
        if isinstance(error.__cause__, _NOT_SENT_CAUSES):
            return Classified(Verdict.RETRY, detail)
        return Classified(Verdict.UNCERTAIN, detail)
    if isinstance(error, NetworkError):
        cause = error.__cause__
        # No cause: Telegram answered with an error status, so it did not take the message.
        if cause is None or isinstance(cause, (*_NOT_SENT_CAUSES, TelegramError)):
            return Classified(Verdict.RETRY, detail)
        return Classified(Verdict.UNCERTAIN, detail)
    if isinstance(error, TelegramError):
        return Classified(Verdict.FAILED, detail)
    return Classified(Verdict.UNCERTAIN, detail)


def backoff(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    return min(cap, base * (2 ** max(0, attempt - 1)))


# --- sending one message ------------------------------------------------------------------


def make_bot(token: str, base_url: str, *, connections: int = 8, read_timeout: float = 10.0) -> Bot:
    """A plain Bot for the digest: its own connection pool, no rate limiter (we pace)."""
    request = HTTPXRequest(
        connection_pool_size=connections,
        read_timeout=read_timeout,
        write_timeout=read_timeout,
        connect_timeout=5.0,
        pool_timeout=5.0,
    )
    return Bot(token, base_url=base_url.rstrip("/"), request=request)


async def send_message(bot: Bot, chat_id: int, thread_id: int, message: dict[str, Any]) -> None:
    markup = message.get("reply_markup")
    await bot.send_message(
        chat_id,
        message["text"],
        parse_mode=ParseMode.HTML if message.get("parse_mode") == "HTML" else None,
        reply_markup=InlineKeyboardMarkup.de_json(markup, None) if markup else None,
        link_preview_options=NO_PREVIEW,
        message_thread_id=thread_id or None,
    )


# --- the paced queue ----------------------------------------------------------------------


@dataclass
class Job:
    key: int
    chat_id: int
    payload: Any = None
    ready_at: float = 0.0


class Step(enum.Enum):
    DONE = "done"
    AGAIN = "again"  # the job has more to send (its next part, or the same one again)


@dataclass(frozen=True)
class StepResult:
    step: Step
    delay: float = 0.0  # do not send this job again before `delay` seconds
    pause: float = 0.0  # the whole queue waits this long (a 429's retry_after)


@dataclass
class QueueStats:
    dispatched: int = 0
    pauses: int = 0
    paused_seconds: float = 0.0
    first_dispatch: float | None = None
    last_dispatch: float | None = None
    dispatch_times: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Sends a second between the first and the last dispatch."""
        if self.dispatched < 2 or self.first_dispatch is None or self.last_dispatch is None:
            return 0.0
        span = self.last_dispatch - self.first_dispatch
        return (self.dispatched - 1) / span if span > 0 else float("inf")


class PacedQueue:
    """Dispatches jobs one send at a time, each at the earliest moment the limits allow.

    A single dispatcher decides when each send starts: the next overall slot (1/rate apart,
    no burst), the chat's next slot, a group's minute budget, and any pause after a 429.
    Up to `max_in_flight` sends run at once, so slow responses do not lower the rate. A job
    with several parts comes back after each part, at its chat's next slot.
    """

    def __init__(
        self,
        *,
        rate: float,
        per_chat_interval: float,
        max_in_flight: int = 8,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        keep_times: bool = False,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat_interval = max(0.0, per_chat_interval)
        self.max_in_flight = max(1, max_in_flight)
        self.group_per_minute = group_per_minute
        self.clock = clock
        self.sleep = sleep
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.chat_next: dict[int, float] = {}
        self.group_sends: dict[int, deque[float]] = {}
        self.stats = QueueStats()
        self.keep_times = keep_times

    def pause(self, seconds: float) -> None:
        until = self.clock() + seconds
        if until > self.paused_until:
            self.stats.pauses += 1
            self.stats.paused_seconds += until - max(self.paused_until, self.clock())
            self.paused_until = until
        self.next_slot = max(self.next_slot, self.paused_until)

    def _chat_ready(self, chat_id: int, now: float) -> float:
        ready = self.chat_next.get(chat_id, 0.0)
        sends = self.group_sends.get(chat_id)
        if sends is not None:
            while sends and sends[0] <= now - 60.0:
                sends.popleft()
            if len(sends) >= self.group_per_minute:
                ready = max(ready, sends[0] + 60.0)
        return ready

    def _reserve(self, chat_id: int, now: float) -> None:
        # A dispatch a little late (the event loop woke after its slot) keeps the schedule,
        # so lateness does not add up and lower the rate; after a longer idle, start afresh.
        late = now - self.next_slot
        self.next_slot = (
            self.next_slot if 0 <= late < self.interval else max(self.next_slot, now)
        ) + self.interval
        self.chat_next[chat_id] = now + self.per_chat_interval
        if chat_id < 0:  # groups, supergroups and channels
            self.group_sends.setdefault(chat_id, deque()).append(now)
        self.stats.dispatched += 1
        if self.stats.first_dispatch is None:
            self.stats.first_dispatch = now
        self.stats.last_dispatch = now
        if self.keep_times:
            self.stats.dispatch_times.append(now)

    async def run(
        self,
        handle: Callable[[Job], Awaitable[StepResult]],
        feed: Callable[[], Awaitable[list[Job]]],
        *,
        stop: Callable[[], bool] | None = None,
        low_water: int = 100,
        max_steps: int = 10_000_000,
        poll: float = 0.5,
    ) -> list[Job]:
        """Send until `feed` has no more jobs and none is left, or until `stop()` says so;
        returns the jobs not finished then, for the caller to hand back."""
        heap: list[tuple[float, int, Job]] = []
        order = itertools.count()
        in_flight: dict[asyncio.Task[StepResult], Job] = {}
        exhausted = False

        def push(job: Job) -> None:
            heapq.heappush(heap, (job.ready_at, next(order), job))

        for _step in range(max_steps):
            if not exhausted and len(heap) < low_water:
                fed = await feed()
                exhausted = not fed
                for job in fed:
                    push(job)
            now = self.clock()
            if stop is not None and stop():
                break
            if not heap and not in_flight:
                if exhausted:
                    break
                continue
            wait: float | None = None
            if heap and len(in_flight) < self.max_in_flight:
                ready_at, seq, job = heap[0]
                chat_ready = self._chat_ready(job.chat_id, now)
                if chat_ready > ready_at:
                    job.ready_at = chat_ready
                    heapq.heapreplace(heap, (chat_ready, seq, job))
                    continue
                start = max(ready_at, self.next_slot, self.paused_until)
                if start <= now:
                    heapq.heappop(heap)
                    self._reserve(job.chat_id, now)
                    in_flight[asyncio.ensure_future(handle(job))] = job
                    continue
                wait = start - now
            if stop is not None:
                wait = poll if wait is None else min(wait, poll)
            if in_flight:
                done, _ = await asyncio.wait(
                    in_flight, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    job = in_flight.pop(task)
                    try:
                        result = task.result()
                    except Exception:  # noqa: BLE001 - one bad job must not stop the queue
                        log.exception("digest send of job %s failed unexpectedly", job.key)
                        continue
                    if result.pause:
                        self.pause(result.pause)
                    if result.step is Step.AGAIN:
                        job.ready_at = self.clock() + result.delay
                        push(job)
            elif wait is not None:
                await self.sleep(wait)
        if in_flight:
            # Stopped: let the sends already started finish and record themselves.
            await asyncio.wait(in_flight)
            for task, job in in_flight.items():
                if (
                    not task.cancelled()
                    and task.exception() is None
                    and task.result().step is Step.AGAIN
                ):
                    push(job)
        return [job for _, _, job in sorted(heap)]
