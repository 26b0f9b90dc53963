"""Flood-control model for the Bot API emulator: limits, token buckets and 429 statistics.

Owns the numbers Telegram documents in its FAQ ("My bot is hitting limits"): about 30 messages
per second overall, about one message per second per private chat (short bursts tolerated) and
20 messages per minute per group. Each is a token bucket so a test can reason about exactly
how many sends fit in a burst and how long ``retry_after`` will be.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace

__all__ = ["DEFAULT_COUNTED_METHODS", "Limits", "RateLimiter", "RateLimitStats", "TokenBucket"]

# Editing a message costs the same flood budget as sending one on real Telegram, so edits are
# counted. sendChatAction, deleteMessage and the answer* methods are not: Telegram does not
# document limits for them and counting them would only make tests slower to reason about.
DEFAULT_COUNTED_METHODS = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup"})


@dataclass(frozen=True)
class Limits:
    """Token-bucket parameters; a rate of 0 or None disables that bucket."""

    global_rate: float | None = 30.0
    global_burst: float = 30
    private_rate: float | None = 1.0
    private_burst: float = 3
    group_rate: float | None = 20 / 60
    group_burst: float = 20
    enabled: bool = True
    counted_methods: frozenset[str] = DEFAULT_COUNTED_METHODS

    def updated(self, **changes: object) -> Limits:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown limit(s) {sorted(unknown)}; known: {sorted(known)}")
        if "counted_methods" in changes:
            changes["counted_methods"] = frozenset(
                str(m).lower()
                for m in changes["counted_methods"]  # type: ignore[union-attr]
            )
        return replace(self, **changes)  # type: ignore[arg-type]


class TokenBucket:
    """Classic token bucket; starts full so a fresh chat may burst immediately."""

    def __init__(self, rate: float, burst: float, now: float | None = None):
        self.rate = rate
        self.burst = max(1.0, float(burst))
        self.tokens = self.burst
        self.stamp = time.monotonic() if now is None else now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if available now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


@dataclass
class RateLimitStats:
    """How many 429s the emulator returned; a snapshot, safe to keep after the test."""

    total: int = 0
    per_chat: dict[int, int] = field(default_factory=dict)
    per_method: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Global + per-chat buckets. Not thread-safe: the emulator calls it under its lock."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}
        self.stats = RateLimitStats()
        self.reset()

    def reset(self, limits: Limits | None = None) -> None:
        if limits is not None:
            self.limits = limits
        lim = self.limits
        self._global = TokenBucket(lim.global_rate, lim.global_burst) if lim.global_rate else None
        self._chats.clear()

    def counts(self, method: str) -> bool:
        return self.limits.enabled and method.lower() in self.limits.counted_methods

    def _chat_bucket(self, chat_id: int, chat_type: str, now: float) -> TokenBucket | None:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            lim = self.limits
            if chat_type == "private":
                rate, burst = lim.private_rate, lim.private_burst
            else:
                rate, burst = lim.group_rate, lim.group_burst
            if not rate:
                return None
            bucket = self._chats[chat_id] = TokenBucket(rate, burst, now)
        return bucket

    def acquire(self, method: str, chat_id: int, chat_type: str) -> int | None:
        """Consume one send; return retry_after seconds (>= 1) instead if over the limit.

        Nothing is consumed on refusal, as Telegram does not deliver refused messages.
        """
        if not self.counts(method):
            return None
        now = time.monotonic()
        buckets = [b for b in (self._global, self._chat_bucket(chat_id, chat_type, now)) if b]
        wait = max((b.wait_time(now) for b in buckets), default=0.0)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.stats.total += 1
            self.stats.per_chat[chat_id] = self.stats.per_chat.get(chat_id, 0) + 1
            self.stats.per_method[method] = self.stats.per_method.get(method, 0) + 1
            return retry_after
        for bucket in buckets:
            bucket.take(now)
        return None

    def snapshot(self) -> RateLimitStats:
        return RateLimitStats(
            self.stats.total, dict(self.stats.per_chat), dict(self.stats.per_method)
        )
