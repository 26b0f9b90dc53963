"""The outbox: delivery rows planned before anything is sent, claimed, and moved through states.

Owns every write to `delivery`, `digest_edition` and `digest_run`, and the scheduling
writes to `subscription` (`since`, `next_due_at`) that go with planning.

Planning (`plan_due`, run by the one scheduler leader) takes the subscriptions whose
`next_due_at` has passed and, in ONE transaction per batch, writes the delivery row of the
period (pending, or empty when nothing matched, or skipped when it is beyond the grace
window), its edition (the composed messages), and the subscription's advanced `since`
and `next_due_at`. Nothing is sent before that commit, so a crash can never lose a
planned digest or plan it twice: (subscription, period) is unique.

States of a delivery row:
    pending    planned; `claimed_by` says which worker (if any) is sending it
    sending    part `parts_sent` is in flight (marked before the HTTP call)
    sent       every part confirmed by Telegram
    empty      nothing new matched (and no "nothing new" note is wanted)
    skipped    missed beyond the grace window, superseded, or unsubscribed
    uncertain  the request may have reached Telegram but no answer came (TimedOut):
               never resent automatically
    failed     Telegram refused it for good (chat gone, bad request) or retries ran out

Claims: `claim` picks pending rows with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two workers never take the same row. A claim belongs to a worker id; a worker that
died (its PostgreSQL advisory lock is gone, see `leader.py`; on SQLite any other worker,
as one process is assumed) has its claims released by `recover_stale`. A row it left in
"sending" is sent again from the part that was in flight: that part may then arrive
twice. This is the one duplicate a crash can cause (see docs/digest.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Engine, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.digest.compose import CHANNEL, CHAT, EditionComposer, FilterSet
from bot.digest.schedule import WEEKLY, next_due, period_of
from bot.store.db import session_scope
from bot.store.models import (
    Chat,
    Delivery,
    DigestEdition,
    DigestRun,
    Subscription,
    SubscriptionFilter,
)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
EMPTY = "empty"
SKIPPED = "skipped"
UNCERTAIN = "uncertain"
FAILED = "failed"
STATUSES = (PENDING, SENDING, SENT, EMPTY, SKIPPED, UNCERTAIN, FAILED)

MAX_ATTEMPTS = 20  # tries that never reached Telegram before a row is given up as failed
LOOKBACK = dt.timedelta(days=35)  # missed occurrences older than this get no rows of their own
PLAN_BATCH = 5000


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _insert(session: Session, table):  # noqa: ANN001, ANN202
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- planning -----------------------------------------------------------------------------


@dataclass
class PlanReport:
    subscriptions: int = 0
    pending: int = 0
    empty: int = 0
    skipped: int = 0
    already_planned: int = 0
    editions_composed: int = 0

    def add(self, other: PlanReport) -> None:
        for name in ("subscriptions", "pending", "empty", "skipped", "already_planned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@lru_cache(maxsize=4096)
def occurrences_due(
    first_due: dt.datetime,
    now: dt.datetime,
    *,
    frequency: str,
    hour: int,
    weekday: int,
    timezone: str,
) -> tuple[tuple[dt.datetime, ...], dt.datetime]:
    """The occurrences at or before `now` (within LOOKBACK), and the first one after it.

    Cached: subscribers on one schedule share the answer (a run asks it per subscriber).
    """

    def following(after: dt.datetime) -> dt.datetime:
        return next_due(after, frequency=frequency, hour=hour, weekday=weekday, timezone=timezone)

    due = first_due if now - first_due <= LOOKBACK else following(now - LOOKBACK)
    missed: list[dt.datetime] = []
    while due <= now:  # bounded: LOOKBACK holds at most 36 daily occurrences
        missed.append(due)
        due = following(due)
    return tuple(missed), due


@lru_cache(maxsize=4096)
def _filter_set(pairs: tuple[tuple[str, str], ...]) -> FilterSet:
    return FilterSet.of(pairs)


@lru_cache(maxsize=4096)
def _period(due: dt.datetime, frequency: str, timezone: str) -> str:
    return period_of(due, frequency=frequency, timezone=timezone)


class EditionStore:
    """Edition rows for composed editions: inserted once (unique key), ids cached per run."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def id_for(
        self,
        session: Session,
        composed,
        *,
        frequency: str,
        filters: FilterSet,
        start: dt.datetime,
        end: dt.datetime,
    ) -> int:  # noqa: ANN001
        found = self.ids.get(composed.key)
        if found is not None:
            return found
        stmt = (
            _insert(session, DigestEdition.__table__)
            .values(
                key=composed.key,
                frequency=frequency,
                filters=filters.tokens(),
                window_start=start,
                window_end=end,
                item_count=composed.item_count,
                messages=composed.messages,
                created_at=_utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        session.execute(stmt)
        edition_id = session.execute(
            select(DigestEdition.id).where(DigestEdition.key == composed.key)
        ).scalar_one()
        self.ids[composed.key] = edition_id
        return edition_id


def plan_due(
    engine: Engine,
    composer_factory: Callable[[Session], EditionComposer],
    now: dt.datetime,
    *,
    grace: dt.timedelta,
    batch_size: int = PLAN_BATCH,
) -> PlanReport:
    """Plan every digest due at `now`: one transaction per batch of subscriptions."""
    report = PlanReport()
    editions = EditionStore()
    composer: EditionComposer | None = None
    seen: set[int] = set()
    # Each batch advances every subscription it holds past `now`, so the next batch holds
    # new ones; the cap only guards against a bug turning this into a endless loop.
    for _batch in range(1_000_000 // max(1, batch_size) + 10):
        with session_scope(engine) as session:
            if composer is None:
                composer = composer_factory(session)
            composer.pool.session = session
            batch = _plan_batch(session, composer, editions, now, grace, batch_size, seen)
        report.add(batch)
        if batch.subscriptions < batch_size:
            break
    if composer is not None:
        report.editions_composed = composer.compose_count
    return report


def _plan_batch(
    session: Session,
    composer: EditionComposer,
    editions: EditionStore,
    now: dt.datetime,
    grace: dt.timedelta,
    batch_size: int,
    seen: set[int],
) -> PlanReport:
    report = PlanReport()
    query = (
        select(
            Subscription.id,
            Subscription.chat_id,
            Subscription.thread_id,
            Subscription.frequency,
            Subscription.next_due_at,
            Subscription.since,
            Chat.timezone,
            Chat.digest_hour,
            Chat.digest_weekday,
            Chat.type,
        )
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Subscription.active, Chat.active, Subscription.next_due_at <= now)
        .order_by(Subscription.next_due_at, Subscription.id)
        .limit(batch_size)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Subscription)
    rows = [row for row in session.execute(query).all() if row.id not in seen]
    report.subscriptions = len(rows)
    if not rows:
        return report
    ids = [row.id for row in rows]
    seen.update(ids)
    filters: dict[int, list[tuple[str, str]]] = {}
    for sub_id, kind, value in session.execute(
        select(
            SubscriptionFilter.subscription_id, SubscriptionFilter.kind, SubscriptionFilter.value
        ).where(SubscriptionFilter.subscription_id.in_(ids))
    ).all():
        filters.setdefault(sub_id, []).append((kind, value))

    planned: list[tuple] = []  # (row, due, period, status, reason)
    schedule_updates: list[dict] = []
    for row in rows:
        frequency = row.frequency if row.frequency in ("daily", "weekly") else WEEKLY
        missed, following = occurrences_due(
            row.next_due_at,
            now,
            frequency=frequency,
            hour=row.digest_hour,
            weekday=row.digest_weekday,
            timezone=row.timezone,
        )
        since = row.since
        if missed:
            latest = missed[-1]
            within_grace = now - latest <= grace
            for occurrence in missed[:-1]:
                reason = (
                    "superseded: a later digest carries these analyses"
                    if within_grace
                    else "missed: the bot was down past the grace window"
                )
                planned.append(
                    (row, occurrence, _period(occurrence, frequency, row.timezone), SKIPPED, reason)
                )
            if within_grace:
                planned.append(
                    (row, latest, _period(latest, frequency, row.timezone), PENDING, None)
                )
            else:
                planned.append(
                    (
                        row,
                        latest,
                        _period(latest, frequency, row.timezone),
                        SKIPPED,
                        "missed: the bot was down past the grace window",
                    )
                )
        schedule_updates.append(
            {"id": row.id, "next_due_at": following, "since": since, "frequency": frequency}
        )

    existing = set(
        session.execute(
            select(Delivery.subscription_id, Delivery.period).where(
                Delivery.subscription_id.in_(ids),
                Delivery.period.in_({p[2] for p in planned} or {""}),
            )
        ).all()
    )
    by_id = {u["id"]: u for u in schedule_updates}
    deliveries: list[dict] = []
    created = _utcnow()
    for row, due, period, status, reason in planned:
        if (row.id, period) in existing:
            report.already_planned += 1
            continue
        existing.add((row.id, period))
        window_start, window_end = row.since, due
        edition_id = None
        if status == PENDING:
            frequency = by_id[row.id]["frequency"]
            filter_set = _filter_set(tuple(sorted(filters.get(row.id, ()))))
            audience = CHANNEL if row.type == "channel" else CHAT
            composed = composer.edition(
                audience=audience,
                frequency=frequency,
                filters=filter_set,
                start=window_start,
                end=window_end,
            )
            edition_id = editions.id_for(
                session,
                composed,
                frequency=frequency,
                filters=filter_set,
                start=window_start,
                end=window_end,
            )
            if not composed.messages:
                status, reason = EMPTY, "nothing new matched"
            by_id[row.id]["since"] = window_end
        deliveries.append(
            {
                "subscription_id": row.id,
                "chat_id": row.chat_id,
                "thread_id": row.thread_id,
                "period": period,
                "due_at": due,
                "window_start": window_start,
                "window_end": window_end,
                "status": status,
                "attempts": 0,
                "parts_sent": 0,
                "last_error": reason,
                "edition_id": edition_id,
                "created_at": created,
            }
        )
        if status == PENDING:
            report.pending += 1
        elif status == EMPTY:
            report.empty += 1
        else:
            report.skipped += 1
    if deliveries:
        session.execute(
            _insert(session, Delivery.__table__).on_conflict_do_nothing(
                index_elements=["subscription_id", "period"]
            ),
            deliveries,
        )
    table = Subscription.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("subscription"))
        .values(next_due_at=bindparam("next_due"), since=bindparam("new_since")),
        [
            {"subscription": u["id"], "next_due": u["next_due_at"], "new_since": u["since"]}
            for u in schedule_updates
        ],
    )
    return report


# --- the channel edition ------------------------------------------------------------------


def ensure_channel(session: Session, channel_id: int | None, now: dt.datetime) -> None:
    """The operator's channel as a subscriber of the unfiltered weekly edition.

    Only `DIGEST_CHANNEL_ID` makes a chat of type "channel"; a channel no longer
    configured stops getting posts.
    """
    session.execute(
        update(Subscription)
        .where(
            Subscription.active,
            Subscription.chat_id.in_(select(Chat.id).where(Chat.type == "channel")),
            Subscription.chat_id != (channel_id if channel_id is not None else 0),
        )
        .values(active=False)
    )
    if channel_id is None:
        return
    chat = session.get(Chat, channel_id)
    if chat is None:
        chat = Chat(
            id=channel_id, type="channel", title="digest channel", created_at=now, updated_at=now
        )
        session.add(chat)
        session.flush()
    subscription = (
        session.execute(
            select(Subscription).where(
                Subscription.chat_id == channel_id, Subscription.thread_id == 0
            )
        )
        .scalars()
        .first()
    )
    if subscription is None:
        session.add(
            Subscription(
                chat_id=channel_id,
                thread_id=0,
                frequency=WEEKLY,
                active=True,
                since=now,
                next_due_at=next_due(
                    now,
                    frequency=WEEKLY,
                    hour=chat.digest_hour,
                    weekday=chat.digest_weekday,
                    timezone=chat.timezone,
                ),
                created_at=now,
            )
        )
    elif not subscription.active:
        subscription.active = True
        subscription.since = now
        subscription.next_due_at = next_due(
            now,
            frequency=subscription.frequency,
            hour=chat.digest_hour,
            weekday=chat.digest_weekday,
            timezone=chat.timezone,
        )
        session.add(subscription)


# --- runs ---------------------------------------------------------------------------------


def start_run(engine: Engine, at: dt.datetime, worker: str) -> int:
    with session_scope(engine) as session:
        run = DigestRun(at=at, worker=worker[:100], started_at=_utcnow())
        session.add(run)
        session.flush()
        return run.id


@dataclass
class RunCounts:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    uncertain: int = 0
    messages: int = 0
    resent_after_crash: int = 0
    released: int = 0
    rate_limited: int = 0
    errors: list[str] = field(default_factory=list)


def finish_run(engine: Engine, run_id: int, counts: RunCounts) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(DigestRun)
            .where(DigestRun.id == run_id)
            .values(
                finished_at=_utcnow(),
                sent=counts.sent,
                failed=counts.failed,
                skipped=counts.skipped,
                uncertain=counts.uncertain,
            )
        )


# --- claims -------------------------------------------------------------------------------


@dataclass
class Claimed:
    delivery_id: int
    subscription_id: int
    chat_id: int
    thread_id: int
    parts_sent: int
    attempts: int
    messages: list[dict]
    chat_type: str = "private"


def skip_unreachable(session: Session) -> int:
    """Pending rows of chats that went inactive or subscriptions that ended: not sent."""
    outcome = session.execute(
        update(Delivery)
        .where(
            Delivery.status == PENDING,
            Delivery.claimed_by.is_(None),
            or_(
                Delivery.chat_id.in_(select(Chat.id).where(Chat.active.is_(False))),
                Delivery.subscription_id.in_(
                    select(Subscription.id).where(Subscription.active.is_(False))
                ),
            ),
        )
        .values(status=SKIPPED, last_error="chat inactive or subscription ended before sending")
    )
    return outcome.rowcount or 0


def claim(
    engine: Engine, worker: str, run_id: int, limit: int, *, exclude: set[int] | None = None
) -> list[Claimed]:
    """Take up to `limit` pending rows for this worker, oldest due first."""
    with session_scope(engine) as session:
        query = (
            select(Delivery.id)
            .where(Delivery.status == PENDING, Delivery.claimed_by.is_(None))
            .order_by(Delivery.due_at, Delivery.id)
            .limit(limit)
        )
        if exclude:
            query = query.where(Delivery.id.not_in(exclude))
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        ids = list(session.execute(query).scalars())
        if not ids:
            return []
        now = _utcnow()
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.claimed_by.is_(None))
            .values(claimed_by=worker, claimed_at=now, run_id=run_id)
        )
        rows = session.execute(
            select(Delivery, Chat.type)
            .join(Chat, Chat.id == Delivery.chat_id)
            .where(Delivery.id.in_(ids), Delivery.claimed_by == worker)
            .order_by(Delivery.due_at, Delivery.id)
        ).all()
        edition_ids = {d.edition_id for d, _ in rows if d.edition_id is not None}
        messages = (
            {
                e.id: e.messages
                for e in session.execute(
                    select(DigestEdition).where(DigestEdition.id.in_(edition_ids))
                ).scalars()
            }
            if edition_ids
            else {}
        )
        return [
            Claimed(
                delivery_id=d.id,
                subscription_id=d.subscription_id,
                chat_id=d.chat_id,
                thread_id=d.thread_id,
                parts_sent=d.parts_sent,
                attempts=d.attempts,
                messages=list(messages.get(d.edition_id, [])),
                chat_type=chat_type,
            )
            for d, chat_type in rows
        ]


def recover_stale(engine: Engine, is_alive: Callable[[str], bool]) -> tuple[int, int]:
    """Release the claims of workers that are not sending any more: (rows released, rows
    that were mid-send). `is_alive(worker_id)` decides; the caller's own id counts as not
    alive between its runs, so a commit that failed after a send is recovered too.

    A row left in "sending" goes back to pending from the part that was in flight, and is
    noted as a possible duplicate.
    """
    with session_scope(engine) as session:
        owners = set(
            session.execute(
                select(Delivery.claimed_by)
                .where(Delivery.claimed_by.is_not(None), Delivery.status.in_((PENDING, SENDING)))
                .distinct()
            ).scalars()
        )
        released = interrupted = 0
        for owner in sorted(owners):
            if is_alive(owner):
                continue
            interrupted += (
                session.execute(
                    update(Delivery)
                    .where(Delivery.claimed_by == owner, Delivery.status == SENDING)
                    .values(
                        status=PENDING,
                        claimed_by=None,
                        claimed_at=None,
                        last_error=f"worker {owner} stopped while a part was in flight; "
                        "resent from that part (possible duplicate)"[:1000],
                    )
                ).rowcount
                or 0
            )
            released += (
                session.execute(
                    update(Delivery)
                    .where(Delivery.claimed_by == owner, Delivery.status == PENDING)
                    .values(claimed_by=None, claimed_at=None)
                ).rowcount
                or 0
            )
        return released + interrupted, interrupted


def _update_claimed(engine: Engine, delivery_id: int, worker: str, **values: object) -> bool:
    with session_scope(engine) as session:
        outcome = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claimed_by == worker)
            .values(**values)
        )
        return bool(outcome.rowcount)


def mark_sending(engine: Engine, delivery_id: int, worker: str, part: int) -> bool:
    """Before the HTTP call: False when the claim was lost (then nothing may be sent)."""
    return _update_claimed(
        engine, delivery_id, worker, status=SENDING, parts_sent=part, attempts=Delivery.attempts + 1
    )


def mark_part_sent(
    engine: Engine, delivery_id: int, worker: str, parts_sent: int, done: bool
) -> None:
    if done:
        _update_claimed(
            engine,
            delivery_id,
            worker,
            status=SENT,
            parts_sent=parts_sent,
            sent_at=_utcnow(),
            claimed_by=None,
        )
    else:
        _update_claimed(engine, delivery_id, worker, status=PENDING, parts_sent=parts_sent)


def mark_not_sent(
    engine: Engine, delivery_id: int, worker: str, error: str | None = None, *, refund: bool = False
) -> None:
    """Telegram refused the part without delivering it (429, or it never left): still ours.

    `refund`: a 429 is Telegram pacing us, not a failure of this row; it does not count
    towards MAX_ATTEMPTS.
    """
    values: dict[str, object] = {"status": PENDING}
    if refund:
        values["attempts"] = Delivery.attempts - 1
    if error:
        values["last_error"] = error[:1000]
    _update_claimed(engine, delivery_id, worker, **values)


def release(engine: Engine, delivery_id: int, worker: str, error: str) -> bool:
    """Give a row back for a later run; after MAX_ATTEMPTS it fails. True if it failed."""
    with session_scope(engine) as session:
        attempts = (
            session.execute(select(Delivery.attempts).where(Delivery.id == delivery_id)).scalar()
            or 0
        )
        status = FAILED if attempts >= MAX_ATTEMPTS else PENDING
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claimed_by == worker)
            .values(status=status, claimed_by=None, claimed_at=None, last_error=error[:1000])
        )
        return status == FAILED


def hand_back(engine: Engine, delivery_id: int, worker: str) -> None:
    """Not started in this run (its time budget ran out): unclaimed, for the next run."""
    _update_claimed(engine, delivery_id, worker, status=PENDING, claimed_by=None, claimed_at=None)


def finish(engine: Engine, delivery_id: int, worker: str, status: str, error: str) -> None:
    _update_claimed(
        engine, delivery_id, worker, status=status, claimed_by=None, last_error=error[:1000]
    )


def deactivate_chat(engine: Engine, chat_id: int, reason: str) -> None:
    """The chat blocked, removed or never started the bot: keep its settings, stop sending."""
    with session_scope(engine) as session:
        session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(active=False, inactive_reason=reason[:300], updated_at=_utcnow())
        )
        skip_unreachable(session)


def deactivate_subscription(engine: Engine, subscription_id: int) -> None:
    """A forum topic that no longer exists: that thread's subscription ends."""
    with session_scope(engine) as session:
        session.execute(
            update(Subscription).where(Subscription.id == subscription_id).values(active=False)
        )
        skip_unreachable(session)


def status_counts(session: Session) -> dict[str, int]:
    return {
        status: count
        for status, count in session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    }
