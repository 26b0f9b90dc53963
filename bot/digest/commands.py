"""The digest's place in the bot: commands, buttons, the periodic tick and /stats lines.

Owns `register(app)`, called by `bot.wiring` when this package exists: /subscribe,
/unsubscribe, /subscriptions, /settings, /digest, the "🔔 Subscribe to X" button
(`sub|<key>`), the settings buttons (`set|...`), and ONE periodic job that runs a digest
tick every `digest_tick_seconds` (each subscription's due time lives in the database; no
job per subscriber). In groups only administrators may change subscriptions: the
changing commands carry `changes_chat=True` and their button prefixes are listed in
`commands.chat_changing_callbacks`. A subscription made inside a forum topic delivers
into that topic.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from markupsafe import Markup
from sqlalchemy import func, select
from sqlmodel import Session

from bot.briefing.messages import OutMessage, button, keyboard
from bot.briefing.resolve import Resolution, resolve
from bot.chat.commands import CallbackAnswer, Caller, CommandSpec
from bot.digest import subscriptions as subs
from bot.digest.leader import new_worker_id
from bot.digest.runner import DigestRunner, preview
from bot.digest.schedule import (
    DAILY,
    FREQUENCIES,
    REGION_TIMEZONES,
    WEEKDAYS,
    WEEKLY,
    describe,
    format_local,
    parse_hour,
    parse_timezone,
    parse_weekday,
    zone,
)
from bot.store.db import session_scope
from bot.store.models import Chat, Delivery, Subscription, SubscriptionFilter

if TYPE_CHECKING:
    from bot.wiring import App

log = logging.getLogger(__name__)

SUBSCRIBE = "sub"
SETTINGS = "set"
TICK_BUDGET_TICKS = 10  # a tick sends for at most this many tick intervals, then hands back


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)



# Settings buttons: callback action -> (parse the pressed value, Chat field, toast text).
_SETTING_BUTTONS = {
    "tz": (parse_timezone, "timezone", lambda name: f"Time zone: {name}"),
    "h": (parse_hour, "hour", lambda hour: f"Digests at {hour:02d}:00"),
    "wd": (parse_weekday, "weekday", lambda day: f"Weekly digests on {WEEKDAYS[day]}s"),
}

class DigestService:
    """What one bot process holds for digests: the clock, the commands and the tick."""

    def __init__(self, app: App, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.clock = clock
        self.worker = new_worker_id()
        self.runner: DigestRunner | None = None
        self._busy = False

    # --- helpers ------------------------------------------------------------------------

    @property
    def engine(self):  # noqa: ANN201
        return self.app.engine

    @property
    def knowledge(self):  # noqa: ANN201
        return self.app.knowledge

    @property
    def renderer(self):  # noqa: ANN201
        return self.app.renderer

    def notice(
        self, text: str, markup: dict | None = None, *, edit: bool = False
    ) -> list[OutMessage]:
        return [OutMessage(text, reply_markup=markup, edit=edit, meta={"view": "digest-notice"})]

    def label(self, kind: str, value: str) -> str:
        """A filter as a reader sees it (HTML-escaped)."""
        if kind == "keyword":
            return f"🔎 “{_escape(value)}”"
        info = self.knowledge.entity(value)
        if info is None:
            return _escape(value)
        return _escape(f"{info.emoji} {info.name}".strip())

    @staticmethod
    def thread_of(caller: Caller) -> int:
        return caller.thread_id or 0

    def _next_line(self, subscription: Subscription, chat: Chat) -> str:
        return format_local(subscription.next_due_at, chat.timezone)

    # --- /subscribe ---------------------------------------------------------------------

    def cmd_subscribe(self, args: str, caller: Caller) -> list[OutMessage]:
        words = args.split()
        frequency = None
        if words and words[0].lower() in FREQUENCIES:
            frequency = words[0].lower()
            words = words[1:]
        rest = " ".join(words)
        filters: list[tuple[str, str]] = []
        unresolved: list[Resolution] = []
        if words and words[0].lower() in ("keyword", "keywords", "kw", "word"):
            phrase = subs.normalise_keyword(" ".join(words[1:]))
            if phrase is None:
                return self.notice(
                    "Usage: <code>/subscribe keyword pipeline</code>: a word or a short phrase "
                    f"({subs.KEYWORD_MIN_CHARS} to {subs.KEYWORD_MAX_CHARS} characters, at most "
                    f"{subs.KEYWORD_MAX_WORDS} words), matched as plain text."
                )
            filters.append(("keyword", phrase))
        elif rest:
            for name in (part.strip() for part in rest.split(",")):
                if not name:
                    continue
                resolution = resolve(name, self.knowledge)
                if resolution.key:
                    filters.append(("entity", resolution.key))
                else:
                    unresolved.append(resolution)
        if unresolved and not filters:
            return self._did_you_mean(unresolved, frequency)
        return self._subscribe(caller, frequency, filters, unresolved)

    def _did_you_mean(
        self, unresolved: list[Resolution], frequency: str | None
    ) -> list[OutMessage]:
        lines, buttons = [], []
        for resolution in unresolved:
            query = _escape(resolution.query)
            if resolution.too_long:
                lines.append("That is too long to be a name.")
            elif resolution.suggestions:
                names = " or ".join(f"<b>{_escape(s.name)}</b>" for s in resolution.suggestions)
                lines.append(f"I don't know “{query}”. Did you mean {names}?")
                buttons.extend(
                    button(f"🔔 {s.emoji} {s.name}"[:40], SUBSCRIBE, s.key)
                    for s in resolution.suggestions
                )
            else:
                lines.append(
                    f"I don't know “{query}” as a country, organisation or topic. "
                    f"For any word, try <code>/subscribe keyword {query}</code>; /countries and /topics list names."
                )
        return self.notice("\n".join(lines), keyboard(*([b] for b in buttons[:6])))

    def _subscribe(
        self,
        caller: Caller,
        frequency: str | None,
        filters: list[tuple[str, str]],
        unresolved: list[Resolution] | None = None,
    ) -> list[OutMessage]:
        now = self.clock()
        with session_scope(self.engine) as session:
            subs.ensure_chat(
                session, caller.chat_id, caller.chat_type, now
            )  # a chat that speaks is back
            existing = subs.find(session, caller.chat_id, self.thread_of(caller))
            if (
                existing is not None
                and existing.active
                and not filters
                and frequency in (None, existing.frequency)
            ):
                return self._already(session, existing, caller)
            result = subs.subscribe(
                session,
                chat_id=caller.chat_id,
                chat_type=caller.chat_type,
                thread_id=self.thread_of(caller),
                now=now,
                frequency=frequency,
                filters=filters,
            )
            chat, subscription = result.chat, result.subscription
            what = (
                "new analysis on " + " · ".join(self.label(k, v) for k, v in result.filters)
                if result.filters
                else "all new analysis"
            )
            schedule = _escape(
                describe(
                    subscription.frequency, chat.digest_hour, chat.digest_weekday, chat.timezone
                )
            )
            if result.created:
                head = f"✅ Subscribed: a {subscription.frequency} digest, {schedule}, of {what}."
            elif result.added:
                added = " · ".join(self.label(k, v) for k, v in result.added)
                head = f"✅ Added {added}. Your {subscription.frequency} digest now carries {what}."
            elif result.frequency_changed:
                head = f"✅ Your digest is now {subscription.frequency}, {schedule}, of {what}."
            else:
                head = f"You already get a {subscription.frequency} digest, {schedule}, of {what}."
            lines = [head]
            if result.already and result.added:
                lines.append(
                    "Already there: "
                    + " · ".join(self.label(k, v) for k, v in result.already)
                    + "."
                )
            if result.refused:
                lines.append(
                    f"At most {subs.MAX_FILTERS} filters: not added "
                    + " · ".join(self.label(k, v) for k, v in result.refused)
                    + "."
                )
            for resolution in unresolved or []:
                hint = (
                    (
                        " Did you mean "
                        + " or ".join(f"<b>{_escape(s.name)}</b>" for s in resolution.suggestions)
                        + "?"
                    )
                    if resolution.suggestions
                    else ""
                )
                lines.append(f"Not added: I don't know “{_escape(resolution.query)}”.{hint}")
            lines.append(f"Next digest: {_escape(self._next_line(subscription, chat))}.")
            if caller.thread_id:
                lines.append("It will arrive in this topic.")
            lines.append(
                "/subscriptions · /settings (time zone, hour, day) · /digest (preview) · /unsubscribe"
            )
        return self.notice("\n".join(lines))

    def _already(
        self, session: Session, subscription: Subscription, caller: Caller
    ) -> list[OutMessage]:
        chat = session.get(Chat, caller.chat_id)
        pairs = subs.filters_of(session, subscription.id)
        what = " · ".join(self.label(k, v) for k, v in pairs) if pairs else "all new analysis"
        schedule = _escape(
            describe(subscription.frequency, chat.digest_hour, chat.digest_weekday, chat.timezone)
        )
        return self.notice(
            f"You already get a {subscription.frequency} digest, {schedule}, of {what}.\n"
            f"Next digest: {_escape(self._next_line(subscription, chat))}.\n"
            "Add a filter with <code>/subscribe Armenia</code> or <code>/subscribe keyword pipeline</code>; "
            "/subscribe daily switches to daily; /unsubscribe ends it."
        )

    @staticmethod
    def refused(caller: Caller) -> CallbackAnswer | None:
        """Buttons reach the command layer without its admin check: done here."""
        if caller.private or caller.is_chat_admin:
            return None
        return CallbackAnswer(
            notice="Only this group's administrators can change its subscriptions.", alert=True
        )

    def cb_subscribe(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        if (refusal := self.refused(caller)) is not None:
            return refusal
        key = parts[0]
        info = self.knowledge.entity(key)
        if info is None:
            raise ValueError(key)
        messages = self._subscribe(caller, None, [("entity", key)])
        return CallbackAnswer(messages, notice=f"Subscribed to {info.name}"[:200])

    # --- /unsubscribe -------------------------------------------------------------------

    def cmd_unsubscribe(self, args: str, caller: Caller) -> list[OutMessage]:
        now = self.clock()
        target = " ".join(args.split())
        with session_scope(self.engine) as session:
            subscription = subs.find(session, caller.chat_id, self.thread_of(caller))
            if subscription is None or not subscription.active:
                return self.notice("There is no digest subscription here. /subscribe starts one.")
            if not target or target.lower() in ("all", "everything", "digest"):
                subs.end(session, subscription, now)
                return self.notice(
                    "🔕 Unsubscribed: no more digests here. Your time zone and hour are kept; /subscribe starts again."
                )
            pairs = subs.filters_of(session, subscription.id)
            phrase = subs.normalise_keyword(target.removeprefix("keyword ").removeprefix("kw "))
            pair = ("keyword", phrase) if phrase and ("keyword", phrase) in pairs else None
            if pair is None:
                resolution = resolve(target, self.knowledge)
                if resolution.key and ("entity", resolution.key) in pairs:
                    pair = ("entity", resolution.key)
            if pair is None:
                current = (
                    " · ".join(self.label(k, v) for k, v in pairs)
                    if pairs
                    else "none: you get all new analysis"
                )
                return self.notice(
                    f"“{_escape(target)}” is not one of this digest's filters. Filters: {current}.\n"
                    "/unsubscribe alone ends the digest."
                )
            subs.remove_filter(session, subscription, pair)
            left = [p for p in pairs if p != pair]
            if not left:
                subs.end(session, subscription, now)
                return self.notice(
                    f"Removed {self.label(*pair)}. That was the last filter, so the digest is off. "
                    "/subscribe starts a digest of all new analysis."
                )
            return self.notice(
                f"Removed {self.label(*pair)}. The digest still carries "
                + " · ".join(self.label(k, v) for k, v in left)
                + "."
            )

    # --- /subscriptions -----------------------------------------------------------------

    def cmd_subscriptions(self, args: str, caller: Caller) -> list[OutMessage]:
        with Session(self.engine) as session:
            chat = session.get(Chat, caller.chat_id)
            rows = subs.chat_subscriptions(session, caller.chat_id) if chat is not None else []
            views = []
            for subscription, pairs in rows:
                last = subs.last_sent(session, subscription.id)
                views.append(
                    {
                        "thread_id": subscription.thread_id,
                        "here": subscription.thread_id == self.thread_of(caller),
                        "frequency": subscription.frequency,
                        "schedule": describe(
                            subscription.frequency,
                            chat.digest_hour,
                            chat.digest_weekday,
                            chat.timezone,
                        ),
                        "filters": [
                            Markup(self.label(k, v)) for k, v in pairs
                        ],  # labels are escaped
                        "next_due": format_local(subscription.next_due_at, chat.timezone),
                        "last_sent": format_local(last, chat.timezone) if last else None,
                    }
                )
        markup = keyboard([button("⚙️ Settings", SETTINGS, "menu")]) if views else None
        return self.renderer.messages(
            self.renderer.html("subscriptions.html.j2", subs=views),
            markup=markup,
            view="subscriptions",
        )

    # --- /settings ----------------------------------------------------------------------

    def _settings_view(
        self,
        session: Session,
        chat: Chat,
        *,
        picking: str | None = None,
        changed: str | None = None,
        edit: bool = False,
    ) -> list[OutMessage]:
        next_due = session.execute(
            select(func.min(Subscription.next_due_at)).where(
                Subscription.chat_id == chat.id, Subscription.active
            )
        ).scalar()
        html_text = self.renderer.html(
            "settings.html.j2",
            chat=chat,
            weekday=WEEKDAYS[chat.digest_weekday % 7],
            local_now=f"{self.clock().astimezone(zone(chat.timezone)):%H:%M}",
            picking=picking,
            next_due=format_local(next_due, chat.timezone) if next_due else None,
            changed=changed,
        )
        if picking == "tz":
            zones = [button(name, SETTINGS, "tz", name) for name in REGION_TIMEZONES]
            rows = [zones[i : i + 2] for i in range(0, len(zones), 2)]
        elif picking == "h":
            hours = [button(f"{h:02d}:00", SETTINGS, "h", h) for h in range(24)]
            rows = [hours[i : i + 6] for i in range(0, 24, 6)]
        elif picking == "wd":
            days = [button(name[:3], SETTINGS, "wd", i) for i, name in enumerate(WEEKDAYS)]
            rows = [days[:4], days[4:]]
        else:
            rows = [
                [button(f"🕰 {chat.timezone}"[:40], SETTINGS, "tz")],
                [
                    button(f"⏰ {chat.digest_hour:02d}:00", SETTINGS, "h"),
                    button(f"📅 {WEEKDAYS[chat.digest_weekday % 7]}", SETTINGS, "wd"),
                ],
            ]
        if picking:
            rows.append([button("◀ Back", SETTINGS, "menu")])
        return self.renderer.messages(html_text, markup=keyboard(*rows), edit=edit, view="settings")

    def cmd_settings(self, args: str, caller: Caller) -> list[OutMessage]:
        words = args.split(maxsplit=1)
        now = self.clock()
        with session_scope(self.engine) as session:
            if not words:
                chat = subs.ensure_chat(session, caller.chat_id, caller.chat_type, now)
                return self._settings_view(session, chat)
            what, value = words[0].lower(), (words[1] if len(words) > 1 else "")
            change: dict[str, object] = {}
            if what in ("timezone", "tz", "zone", "time-zone"):
                name = parse_timezone(value)
                if name is None:
                    return self.notice(
                        f"I don't know the time zone “{_escape(value)}”. Use an IANA name such as "
                        "<code>/settings timezone Asia/Yerevan</code> or <code>/settings timezone Europe/Brussels</code>."
                    )
                change["timezone"], done = name, f"Time zone set to {name}."
            elif what in ("hour", "time", "at"):
                hour = parse_hour(value)
                if hour is None:
                    return self.notice(
                        "Usage: <code>/settings hour 9</code> (0 to 23, in the chat's time zone)."
                    )
                change["hour"], done = hour, f"Digests now arrive at {hour:02d}:00."
            elif what in ("weekday", "day"):
                weekday = parse_weekday(value)
                if weekday is None:
                    return self.notice("Usage: <code>/settings weekday Monday</code>.")
                change["weekday"], done = (
                    weekday,
                    f"Weekly digests now arrive on {WEEKDAYS[weekday]}s.",
                )
            else:
                return self.notice(
                    "Usage: /settings, or <code>/settings timezone Asia/Yerevan</code>, "
                    "<code>/settings hour 9</code>, <code>/settings weekday Monday</code>."
                )
            chat = subs.change_settings(
                session, chat_id=caller.chat_id, chat_type=caller.chat_type, now=now, **change
            )
            return self._settings_view(session, chat, changed=done)

    def cb_settings(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        if (refusal := self.refused(caller)) is not None:
            return refusal
        action = parts[0]
        now = self.clock()
        with session_scope(self.engine) as session:
            if action == "menu" or (action in _SETTING_BUTTONS and len(parts) == 1):
                chat = subs.ensure_chat(session, caller.chat_id, caller.chat_type, now)
                picking = None if action == "menu" else action
                return CallbackAnswer(
                    self._settings_view(session, chat, picking=picking, edit=True)
                )
            if action not in _SETTING_BUTTONS:
                raise ValueError(action)
            parse, field_name, describe = _SETTING_BUTTONS[action]
            value = parse(parts[1])
            if value is None:
                raise ValueError(parts[1])
            chat = subs.change_settings(
                session,
                chat_id=caller.chat_id,
                chat_type=caller.chat_type,
                now=now,
                **{field_name: value},
            )
            notice = describe(value)
            return CallbackAnswer(
                self._settings_view(session, chat, changed=notice + ".", edit=True), notice=notice
            )

    # --- /digest ------------------------------------------------------------------------

    def cmd_digest(self, args: str, caller: Caller) -> list[OutMessage]:
        now = self.clock()
        with Session(self.engine) as session:
            subscription = subs.find(session, caller.chat_id, self.thread_of(caller))
            subscribed = subscription is not None and subscription.active
        messages = preview(
            self.engine,
            self.knowledge,
            self.renderer,
            self.app.settings,
            chat_id=caller.chat_id,
            thread_id=self.thread_of(caller),
            now=now,
        )
        if not subscribed:
            messages = (
                self.notice(
                    "Not subscribed here yet: this is what /subscribe would bring now (the last 7 days)."
                )
                + messages
            )
        return messages

    # --- operators ----------------------------------------------------------------------

    def stats_lines(self, session: Session) -> list[str]:
        by_frequency = dict(
            session.execute(
                select(Subscription.frequency, func.count())
                .join(Chat, Chat.id == Subscription.chat_id)
                .where(Subscription.active, Chat.active)
                .group_by(Subscription.frequency)
            ).all()
        )
        filtered = session.execute(
            select(func.count(func.distinct(SubscriptionFilter.subscription_id)))
        ).scalar_one()
        inactive = session.execute(
            select(func.count()).select_from(Chat).where(Chat.active.is_(False))
        ).scalar_one()
        since = self.clock() - dt.timedelta(days=7)
        statuses = dict(
            session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.created_at >= since)
                .group_by(Delivery.status)
            ).all()
        )
        week = (
            ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "none"
        )
        return [
            f"Digest subscriptions: {by_frequency.get(DAILY, 0)} daily, {by_frequency.get(WEEKLY, 0)} weekly "
            f"({filtered} with filters); inactive chats: {inactive}",
            f"Digest deliveries, last 7 days: {week}",
        ]

    # --- the tick -----------------------------------------------------------------------

    async def tick(self) -> None:
        """One digest run; a tick that finds the previous one still sending returns at once."""
        if self._busy:
            return
        self._busy = True
        try:
            runner = await self._runner()
            if runner is None:
                return
            budget = max(60.0, TICK_BUDGET_TICKS * float(self.app.settings.digest_tick_seconds))
            await runner.run_once(self.clock(), max_seconds=budget)
        finally:
            self._busy = False

    async def _runner(self) -> DigestRunner | None:
        if self.runner is not None:
            return self.runner
        settings = self.app.settings
        if settings.telegram_bot_token is None:
            log.warning("digest tick skipped: no TELEGRAM_BOT_TOKEN")
            return None
        from bot.digest.sender import make_bot

        bot = make_bot(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_base_url,
            connections=9,
        )
        await bot.initialize()
        self.runner = DigestRunner(
            self.engine,
            self.knowledge,
            self.renderer,
            settings,
            bot=bot,
            worker=self.worker,
            max_in_flight=8,
        )
        return self.runner


def register(app: App) -> DigestService:
    """Plug the digest into the app: commands, buttons, the tick job, /stats lines."""
    from bot.chat.telegram import PeriodicJob

    service = DigestService(app)
    app.digest = service
    commands = app.commands
    for spec in (
        CommandSpec(
            "subscribe",
            "Digest of new analysis: /subscribe Armenia",
            service.cmd_subscribe,
            changes_chat=True,
        ),
        CommandSpec(
            "unsubscribe",
            "Stop the digest, or drop a filter",
            service.cmd_unsubscribe,
            changes_chat=True,
        ),
        CommandSpec(
            "subscriptions", "What this chat receives, and when", service.cmd_subscriptions
        ),
        CommandSpec(
            "settings", "Digest time zone, hour and day", service.cmd_settings, changes_chat=True
        ),
        CommandSpec("digest", "Preview the next digest", service.cmd_digest),
    ):
        commands.register(spec)
    commands.callbacks[SUBSCRIBE] = service.cb_subscribe
    commands.callbacks[SETTINGS] = service.cb_settings
    commands.chat_changing_callbacks.update({SUBSCRIBE, SETTINGS})
    commands.subscriptions_enabled = True
    commands.stats_providers.append(service.stats_lines)

    async def digest_tick(the_app: App) -> None:
        await the_app.digest.tick()

    if not hasattr(app, "periodic_jobs"):
        app.periodic_jobs = []
    app.periodic_jobs.append(
        PeriodicJob("digest", float(app.settings.digest_tick_seconds), digest_tick)
    )
    return service
