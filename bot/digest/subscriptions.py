"""Subscriptions and chat settings: the domain behind /subscribe, /unsubscribe and /settings.

Owns every change to `Chat`, `Subscription` and `SubscriptionFilter` made on a user's
behalf: one subscription per chat and forum thread, filters added one by one (an entity
key or a normalised keyword phrase), a schedule recomputed whenever frequency, time zone,
hour or weekday change. Functions take a session and the current time; callers commit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlmodel import Session

from bot.digest.schedule import WEEKLY, next_due
from bot.store.models import Chat, Delivery, Subscription, SubscriptionFilter

MAX_FILTERS = 20
KEYWORD_MIN_CHARS = 2
KEYWORD_MAX_CHARS = 60
KEYWORD_MAX_WORDS = 6
_QUOTES = "\"'“”‘’«»"


def normalise_keyword(text: str) -> str | None:
    """A phrase as stored and matched: case-folded, single-spaced, without enclosing quotes.

    Anything else the user typed is kept as literal text; None when it is not a usable
    phrase (too short, too long, or without a letter or digit).
    """
    phrase = (
        " ".join(text.split())
        .strip(_QUOTES + " ")
        .rstrip(".,;:!? ")
        .strip(_QUOTES + " ")
        .casefold()
    )
    phrase = " ".join(phrase.split())
    if not (KEYWORD_MIN_CHARS <= len(phrase) <= KEYWORD_MAX_CHARS):
        return None
    if len(phrase.split()) > KEYWORD_MAX_WORDS or not re.search(r"\w", phrase):
        return None
    return phrase


def ensure_chat(
    session: Session, chat_id: int, chat_type: str, now: dt.datetime, title: str | None = None
) -> Chat:
    """The chat's row, created on first use; a chat that speaks to the bot again is active."""
    chat = session.get(Chat, chat_id)
    kind = "private" if chat_type == "console" else chat_type
    if chat is None:
        chat = Chat(id=chat_id, type=kind, title=title, created_at=now, updated_at=now)
        session.add(chat)
        session.flush()
    elif not chat.active:
        chat.active = True
        chat.inactive_reason = None
        chat.updated_at = now
        session.add(chat)
    return chat


def find(session: Session, chat_id: int, thread_id: int) -> Subscription | None:
    return (
        session.execute(
            select(Subscription).where(
                Subscription.chat_id == chat_id, Subscription.thread_id == thread_id
            )
        )
        .scalars()
        .first()
    )


def filters_of(session: Session, subscription_id: int) -> list[tuple[str, str]]:
    return [
        (row.kind, row.value)
        for row in session.execute(
            select(SubscriptionFilter)
            .where(SubscriptionFilter.subscription_id == subscription_id)
            .order_by(SubscriptionFilter.kind, SubscriptionFilter.value)
        ).scalars()
    ]


def schedule_next(chat: Chat, frequency: str, after: dt.datetime) -> dt.datetime:
    return next_due(
        after,
        frequency=frequency,
        hour=chat.digest_hour,
        weekday=chat.digest_weekday,
        timezone=chat.timezone,
    )


@dataclass
class SubscribeResult:
    subscription: Subscription
    chat: Chat
    created: bool = False  # new, or an ended one started again
    frequency_changed: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # over MAX_FILTERS
    filters: list[tuple[str, str]] = field(default_factory=list)


def subscribe(
    session: Session,
    *,
    chat_id: int,
    chat_type: str,
    thread_id: int,
    now: dt.datetime,
    frequency: str | None = None,
    filters: list[tuple[str, str]] | None = None,
) -> SubscribeResult:
    """Start (or adjust) this chat's and thread's subscription; filters are added, never replaced."""
    chat = ensure_chat(session, chat_id, chat_type, now)
    subscription = find(session, chat_id, thread_id)
    result_created = False
    frequency_changed = False
    if subscription is None:
        wanted = frequency or WEEKLY
        subscription = Subscription(
            chat_id=chat_id,
            thread_id=thread_id,
            frequency=wanted,
            active=True,
            since=now,
            next_due_at=schedule_next(chat, wanted, now),
            created_at=now,
        )
        session.add(subscription)
        session.flush()
        result_created = True
    elif not subscription.active:
        # A fresh start: the next digest carries what is new from now on.
        subscription.active = True
        subscription.frequency = frequency or WEEKLY
        subscription.since = now
        subscription.next_due_at = schedule_next(chat, subscription.frequency, now)
        session.execute(
            delete(SubscriptionFilter).where(SubscriptionFilter.subscription_id == subscription.id)
        )
        session.add(subscription)
        result_created = True
    elif frequency and frequency != subscription.frequency:
        subscription.frequency = frequency
        subscription.next_due_at = schedule_next(chat, frequency, now)
        session.add(subscription)
        frequency_changed = True
    result = SubscribeResult(
        subscription, chat, created=result_created, frequency_changed=frequency_changed
    )
    existing = set(filters_of(session, subscription.id))
    for pair in filters or []:
        if pair in existing:
            result.already.append(pair)
        elif len(existing) >= MAX_FILTERS:
            result.refused.append(pair)
        else:
            session.add(
                SubscriptionFilter(subscription_id=subscription.id, kind=pair[0], value=pair[1])
            )
            existing.add(pair)
            result.added.append(pair)
    session.flush()
    result.filters = sorted(existing)
    return result


def remove_filter(session: Session, subscription: Subscription, pair: tuple[str, str]) -> bool:
    outcome = session.execute(
        delete(SubscriptionFilter).where(
            SubscriptionFilter.subscription_id == subscription.id,
            SubscriptionFilter.kind == pair[0],
            SubscriptionFilter.value == pair[1],
        )
    )
    return bool(outcome.rowcount)


def end(session: Session, subscription: Subscription, now: dt.datetime) -> int:
    """Stop the subscription; digests already planned but not sent are skipped.

    Filters are removed so that a later /subscribe starts afresh. Returns how many
    planned deliveries were skipped.
    """
    subscription.active = False
    session.add(subscription)
    session.execute(
        delete(SubscriptionFilter).where(SubscriptionFilter.subscription_id == subscription.id)
    )
    skipped = session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription.id,
            Delivery.status == "pending",
            Delivery.claimed_by.is_(None),
        )
        .values(status="skipped", last_error="unsubscribed before it was sent")
    )
    return skipped.rowcount or 0


def chat_subscriptions(
    session: Session, chat_id: int
) -> list[tuple[Subscription, list[tuple[str, str]]]]:
    subscriptions = (
        session.execute(
            select(Subscription)
            .where(Subscription.chat_id == chat_id, Subscription.active)
            .order_by(Subscription.thread_id)
        )
        .scalars()
        .all()
    )
    return [(s, filters_of(session, s.id)) for s in subscriptions]


def last_sent(session: Session, subscription_id: int) -> dt.datetime | None:
    return session.execute(
        select(Delivery.sent_at)
        .where(Delivery.subscription_id == subscription_id, Delivery.status == "sent")
        .order_by(Delivery.sent_at.desc())
        .limit(1)
    ).scalar()


def change_settings(
    session: Session,
    *,
    chat_id: int,
    chat_type: str,
    now: dt.datetime,
    timezone: str | None = None,
    hour: int | None = None,
    weekday: int | None = None,
) -> Chat:
    """Change the chat's schedule; every active subscription of the chat is rescheduled.

    The next occurrence is computed from now, so moving the hour later on the day a digest
    was already sent would fall in the same period: the outbox's one-per-period rule then
    skips it rather than sending a second digest.
    """
    chat = ensure_chat(session, chat_id, chat_type, now)
    if timezone is not None:
        chat.timezone = timezone
    if hour is not None:
        chat.digest_hour = hour
    if weekday is not None:
        chat.digest_weekday = weekday
    chat.updated_at = now
    session.add(chat)
    session.flush()
    for subscription in session.execute(
        select(Subscription).where(Subscription.chat_id == chat_id, Subscription.active)
    ).scalars():
        subscription.next_due_at = schedule_next(chat, subscription.frequency, now)
        session.add(subscription)
    return chat
