"""A digest run: plan what is due (leader only), then send what is pending (every worker).

Owns the order of one run and the state change after every send:
1. the leader (see `leader.py`) plans the digests due at `at` into the outbox, composing
   each distinct (filters, window) once (`outbox.plan_due`);
2. claims of dead workers are released (`outbox.recover_stale`);
3. pending rows are claimed in batches and fed to the one `PacedQueue`; for every part
   the row is marked "sending" and committed BEFORE the HTTP call, then marked sent (or
   pending for its next part) after Telegram confirms it.

What a crash can repeat, honestly: if the process dies between Telegram accepting a part
and the commit that records it, that part is sent again after the restart (the row was
left in "sending"; `recover_stale` resends from that part and notes a possible
duplicate). With `max_in_flight` sends running at once, one crash can repeat at most
that many parts, one per chat. A part interrupted before it reached Telegram is simply
sent then, so no chat is left without its digest. A live `TimedOut`, by contrast, is
marked "uncertain" and not resent: a slow Telegram that times out may time out again and
deliver every retry. `tests/test_digest_crash.py` measures both with SIGKILL.

`at` is the controllable clock: it decides what is due and what is past the grace
window. Sending itself always happens in real time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from bot.briefing.messages import OutMessage
from bot.config import Settings
from bot.digest import outbox
from bot.digest.compose import (
    CHANNEL,
    CHAT,
    ArticlePool,
    EditionComposer,
    FilterSet,
    compose_digest,
    render_digest,
)
from bot.digest.leader import Leadership, new_worker_id
from bot.digest.schedule import WEEKLY
from bot.digest.sender import (
    Job,
    PacedQueue,
    Step,
    StepResult,
    Verdict,
    backoff,
    classify,
    send_message,
)
from bot.digest.subscriptions import filters_of, find
from bot.store.db import session_scope
from bot.store.models import Chat

if TYPE_CHECKING:
    from telegram import Bot

    from bot.briefing.render import Renderer
    from bot.enrich import Knowledge

log = logging.getLogger(__name__)

NETWORK_TRIES = 4  # tries within one run for a part that never reached Telegram
RATE_LIMIT_TRIES = 20  # 429s for one part within one run before it is handed back
PREVIEW_WINDOW = dt.timedelta(days=7)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _InFlight:
    claimed: outbox.Claimed
    network_tries: int = 0
    rate_limits: int = 0


@dataclass
class RunReport:
    at: dt.datetime
    leader: bool
    plan: outbox.PlanReport | None
    counts: outbox.RunCounts
    queue_rate: float = 0.0
    dispatched: int = 0
    extra: dict = field(default_factory=dict)

    def summary(self) -> str:
        plan = self.plan
        planned = (
            f"planned {plan.pending} to send, {plan.empty} empty, {plan.skipped} skipped "
            f"({plan.editions_composed} editions composed for {plan.subscriptions} subscriptions)"
            if plan
            else "not the scheduler leader: planned nothing"
        )
        c = self.counts
        return (
            f"digest run at {self.at.isoformat()}: {planned}; sent {c.sent} digests in {c.messages} messages, "
            f"{c.failed} failed, {c.uncertain} uncertain, {c.skipped} skipped, "
            f"{c.resent_after_crash} resumed after an interrupted send, {c.rate_limited} rate-limited"
        )


class DigestRunner:
    def __init__(
        self,
        engine: Engine,
        knowledge: Knowledge,
        renderer: Renderer,
        settings: Settings,
        *,
        bot: Bot | None = None,
        worker: str | None = None,
        leadership: Leadership | None = None,
        max_in_flight: int = 8,
        claim_batch: int = 200,
        clock: Callable[[], float] = time.monotonic,
        keep_send_times: bool = False,
    ) -> None:
        self.engine = engine
        self.knowledge = knowledge
        self.renderer = renderer
        self.settings = settings
        self.bot = bot
        self.worker = worker or new_worker_id()
        self.leadership = leadership or Leadership(engine, self.worker)
        self.max_in_flight = max_in_flight
        self.claim_batch = claim_batch
        self.clock = clock
        self.keep_send_times = keep_send_times
        self.last_queue: PacedQueue | None = None

    # --- planning -----------------------------------------------------------------------

    def composer(self, session: Session) -> EditionComposer:
        return EditionComposer(
            session,
            self.knowledge,
            self.renderer,
            max_items=self.settings.digest_max_items,
            nothing_new_note=self.settings.digest_nothing_new_note,
        )

    def plan(self, at: dt.datetime) -> outbox.PlanReport:
        with session_scope(self.engine) as session:
            outbox.ensure_channel(session, self.settings.digest_channel_id, at)
        return outbox.plan_due(
            self.engine,
            self.composer,
            at,
            grace=dt.timedelta(hours=self.settings.digest_grace_hours),
        )

    # --- one run ------------------------------------------------------------------------

    async def run_once(
        self, at: dt.datetime | None = None, *, max_seconds: float | None = None
    ) -> RunReport:
        at = at or utcnow()
        await asyncio.to_thread(self.leadership.start)
        leader = await asyncio.to_thread(self.leadership.try_lead)
        plan = await asyncio.to_thread(self.plan, at) if leader else None
        counts = await self.deliver(at, max_seconds=max_seconds)
        queue = self.last_queue
        report = RunReport(
            at,
            leader,
            plan,
            counts,
            queue_rate=queue.stats.rate if queue else 0.0,
            dispatched=queue.stats.dispatched if queue else 0,
        )
        log.info("%s", report.summary())
        return report

    async def deliver(
        self, at: dt.datetime, *, max_seconds: float | None = None
    ) -> outbox.RunCounts:
        if self.bot is None:
            raise RuntimeError("a digest run needs a Bot to send with")
        counts = outbox.RunCounts()
        run_id = await asyncio.to_thread(outbox.start_run, self.engine, at, self.worker)

        def alive(owner: str) -> bool:
            # Nothing of this worker is in flight between runs, so its own leftovers count
            # as interrupted too (a commit that failed after a send, say).
            return owner != self.worker and self.leadership.is_alive(owner)

        released, interrupted = await asyncio.to_thread(outbox.recover_stale, self.engine, alive)
        counts.released, counts.resent_after_crash = released, interrupted
        if interrupted:
            log.warning(
                "%d digest(s) were mid-send when a worker stopped; resending from that part",
                interrupted,
            )
        counts.skipped += await asyncio.to_thread(self._skip_unreachable)

        queue = PacedQueue(
            rate=self.settings.digest_send_rate,
            per_chat_interval=self.settings.digest_per_chat_interval,
            max_in_flight=self.max_in_flight,
            clock=self.clock,
            keep_times=self.keep_send_times,
        )
        self.last_queue = queue
        gone_chats: set[int] = set()
        stop = {"now": False}

        async def feed() -> list[Job]:
            if stop["now"]:
                return []
            claimed = await asyncio.to_thread(
                outbox.claim, self.engine, self.worker, run_id, self.claim_batch
            )
            jobs = []
            for item in claimed:
                if item.parts_sent >= len(item.messages):
                    # Nothing (left) to send: an empty edition, or every part already sent.
                    status = outbox.SENT if item.messages else outbox.EMPTY
                    await asyncio.to_thread(
                        outbox.finish,
                        self.engine,
                        item.delivery_id,
                        self.worker,
                        status,
                        "nothing to send",
                    )
                    continue
                jobs.append(Job(item.delivery_id, item.chat_id, payload=_InFlight(item)))
            return jobs

        async def handle(job: Job) -> StepResult:
            state: _InFlight = job.payload
            item = state.claimed
            if item.chat_id in gone_chats:
                await asyncio.to_thread(
                    outbox.finish,
                    self.engine,
                    item.delivery_id,
                    self.worker,
                    outbox.FAILED,
                    "chat became inactive during this run",
                )
                counts.failed += 1
                return StepResult(Step.DONE)
            part = item.parts_sent
            if not await asyncio.to_thread(
                outbox.mark_sending, self.engine, item.delivery_id, self.worker, part
            ):
                log.warning("digest delivery %s: claim lost, not sending", item.delivery_id)
                return StepResult(Step.DONE)
            try:
                await send_message(self.bot, item.chat_id, item.thread_id, item.messages[part])
            except Exception as error:  # noqa: BLE001 - every error is classified below
                return await self._after_error(error, state, part, counts, gone_chats, stop, queue)
            counts.messages += 1
            item.parts_sent = part + 1
            done = item.parts_sent >= len(item.messages)
            await asyncio.to_thread(
                outbox.mark_part_sent,
                self.engine,
                item.delivery_id,
                self.worker,
                item.parts_sent,
                done,
            )
            if done:
                counts.sent += 1
                return StepResult(Step.DONE)
            return StepResult(Step.AGAIN)

        deadline = self.clock() + max_seconds if max_seconds else None
        stop_deadline = _StopDeadline(stop, deadline, self.clock)
        leftovers = await queue.run(handle, feed, stop=stop_deadline)
        for job in leftovers:
            await asyncio.to_thread(outbox.hand_back, self.engine, job.key, self.worker)
        await asyncio.to_thread(outbox.finish_run, self.engine, run_id, counts)
        return counts

    def _skip_unreachable(self) -> int:
        with session_scope(self.engine) as session:
            return outbox.skip_unreachable(session)

    async def _after_error(
        self,
        error: BaseException,
        state: _InFlight,
        part: int,
        counts: outbox.RunCounts,
        gone_chats: set[int],
        stop: dict,
        queue: PacedQueue,
    ) -> StepResult:
        item = state.claimed
        verdict = classify(error)
        engine, worker, delivery = self.engine, self.worker, item.delivery_id
        if verdict.verdict is Verdict.RATE_LIMITED:
            counts.rate_limited += 1
            state.rate_limits += 1
            await asyncio.to_thread(
                functools.partial(
                    outbox.mark_not_sent, engine, delivery, worker, verdict.detail, refund=True
                )
            )
            log.warning(
                "Telegram asked to wait %.0f s (429); the whole digest queue pauses",
                verdict.retry_after,
            )
            if state.rate_limits >= RATE_LIMIT_TRIES:
                await asyncio.to_thread(outbox.hand_back, engine, delivery, worker)
                return StepResult(Step.DONE, pause=verdict.retry_after)
            return StepResult(Step.AGAIN, pause=verdict.retry_after)
        if verdict.verdict is Verdict.RETRY:
            state.network_tries += 1
            if state.network_tries >= NETWORK_TRIES:
                failed = await asyncio.to_thread(
                    outbox.release, engine, delivery, worker, verdict.detail
                )
                counts.failed += int(failed)
                log.warning(
                    "digest delivery %s: network still failing (%s); left for the next run",
                    delivery,
                    verdict.detail,
                )
                return StepResult(Step.DONE)
            await asyncio.to_thread(outbox.mark_not_sent, engine, delivery, worker, verdict.detail)
            return StepResult(Step.AGAIN, delay=backoff(state.network_tries))
        if verdict.verdict is Verdict.UNCERTAIN:
            counts.uncertain += 1
            await asyncio.to_thread(
                outbox.finish,
                engine,
                delivery,
                worker,
                outbox.UNCERTAIN,
                f"part {part + 1}: {verdict.detail}",
            )
            log.warning(
                "digest delivery %s to chat %s is uncertain (%s); not resent",
                delivery,
                item.chat_id,
                verdict.detail,
            )
            return StepResult(Step.DONE)
        if verdict.verdict is Verdict.CHAT_GONE:
            counts.failed += 1
            gone_chats.add(item.chat_id)
            await asyncio.to_thread(
                outbox.finish, engine, delivery, worker, outbox.FAILED, verdict.detail
            )
            await asyncio.to_thread(outbox.deactivate_chat, engine, item.chat_id, verdict.detail)
            log.info(
                "chat %s is gone (%s): marked inactive, settings kept", item.chat_id, verdict.detail
            )
            return StepResult(Step.DONE)
        if verdict.verdict is Verdict.THREAD_GONE:
            counts.failed += 1
            await asyncio.to_thread(
                outbox.finish, engine, delivery, worker, outbox.FAILED, verdict.detail
            )
            await asyncio.to_thread(outbox.deactivate_subscription, engine, item.subscription_id)
            return StepResult(Step.DONE)
        if verdict.verdict is Verdict.BAD_TOKEN:
            stop["now"] = True
            await asyncio.to_thread(outbox.hand_back, engine, delivery, worker)
            log.error("the bot token was refused (%s): digest run stopped", verdict.detail)
            counts.errors.append(verdict.detail)
            return StepResult(Step.DONE)
        counts.failed += 1
        await asyncio.to_thread(
            outbox.finish,
            engine,
            delivery,
            worker,
            outbox.FAILED,
            f"part {part + 1}: {verdict.detail}",
        )
        log.error(
            "digest delivery %s to chat %s refused: %s (template digest.html.j2, part %d of %d)",
            delivery,
            item.chat_id,
            verdict.detail,
            part + 1,
            len(item.messages),
        )
        return StepResult(Step.DONE)


class _StopDeadline:
    """The queue stops dispatching when told to (bad token) or when the time budget ends."""

    def __init__(self, stop: dict, deadline: float | None, clock: Callable[[], float]) -> None:
        self.stop, self.deadline, self.clock = stop, deadline, clock

    def __call__(self) -> bool:
        return bool(self.stop["now"]) or (
            self.deadline is not None and self.clock() >= self.deadline
        )


# --- previews -----------------------------------------------------------------------------


def preview(
    engine: Engine,
    knowledge: Knowledge,
    renderer: Renderer,
    settings: Settings,
    *,
    chat_id: int,
    thread_id: int = 0,
    now: dt.datetime | None = None,
) -> list[OutMessage]:
    """The digest this chat (or forum thread) would get if it were due now; changes nothing."""
    now = now or utcnow()
    with Session(engine) as session:
        subscription = find(session, chat_id, thread_id) or (
            find(session, chat_id, 0) if thread_id else None
        )
        if subscription is not None and subscription.active:
            filters = FilterSet.of(filters_of(session, subscription.id))
            since, frequency = subscription.since, subscription.frequency
        else:
            filters, since, frequency = FilterSet(), now - PREVIEW_WINDOW, WEEKLY
        chat = session.get(Chat, chat_id)
        audience = CHANNEL if chat is not None and chat.type == "channel" else CHAT
        view = compose_digest(
            ArticlePool(session),
            knowledge,
            filters,
            min(since, now),
            now,
            frequency=frequency,
            max_items=settings.digest_max_items,
            audience=audience,
        )
    view.preview = True
    return render_digest(view, renderer, nothing_new_note=True)
