"""The command layer shared by the Telegram bot and the console.

Turns what a user typed ("/brief Armenia", "/brief@briefbot caspian", "/article_3",
a plain "armenia", a button's callback data, an inline query) into the messages to send.
No Telegram types here and no transport: the bot and the console each wrap this.
Database work is synchronous; the bot runs it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.briefing import compose
from bot.briefing.messages import OutMessage, parse_callback
from bot.briefing.render import Renderer
from bot.briefing.resolve import Resolution, neighbours_with_coverage, resolve
from bot.config import Settings
from bot.enrich import Knowledge
from bot.store.models import EntityStats

TIMELINE_PAGE = 6
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,64})(?:@(?P<bot>[A-Za-z0-9_]{3,64}))?(?:\s+(?P<args>.*))?$", re.DOTALL)
_SHORTCUT = re.compile(r"^(?P<name>brief|topic|article|timeline)_(?P<arg>[A-Za-z0-9_]{1,40})$")
_DEEP_LINK = re.compile(r"^(?P<kind>brief|topic|org|article|timeline)-(?P<arg>[A-Za-z0-9_-]{1,60})$")


@dataclass(frozen=True)
class Caller:
    chat_id: int
    chat_type: str = "private"  # private, group, supergroup, channel, console
    user_id: int | None = None
    thread_id: int | None = None
    is_bot_admin: bool = False  # listed in ADMIN_CHAT_IDS
    is_chat_admin: bool = True  # in a group: may change the group's subscriptions

    @property
    def private(self) -> bool:
        return self.chat_type in ("private", "console")


@dataclass
class CallbackAnswer:
    messages: list[OutMessage] = field(default_factory=list)
    notice: str | None = None  # the short toast answerCallbackQuery shows
    alert: bool = False


@dataclass(frozen=True)
class InlineCard:
    id: str
    title: str
    description: str
    message: OutMessage
    start_payload: str  # opens the full briefing in a private chat with the bot


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str
    handler: Callable[[str, Caller], list[OutMessage]]
    menu: bool = True  # listed by setMyCommands
    admin: bool = False  # only for ADMIN_CHAT_IDS
    changes_chat: bool = False  # in a group, only the group's administrators may use it


def parse_command(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """("brief", "Armenia") from "/brief@bot Armenia"; None when it is not for this bot."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    addressed = match["bot"]
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    name = match["name"].lower()
    args = (match["args"] or "").strip()
    shortcut = _SHORTCUT.match(name)
    if shortcut and not args:
        name, args = shortcut["name"], shortcut["arg"]
        if name == "topic":
            args = args.replace("_", "-")
    return name, args


def start_payload(key: str) -> str:
    kind, _, code = key.partition(":")
    return {"c": "brief", "o": "org", "t": "topic"}[kind] + "-" + code


class Commands:
    def __init__(
        self,
        engine: Engine,
        knowledge: Knowledge,
        renderer: Renderer,
        settings: Settings,
        *,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        self.engine = engine
        self.knowledge = knowledge
        self.renderer = renderer
        self.settings = settings
        self.today = today or (lambda: dt.datetime.now(dt.UTC).date())
        self.specs: dict[str, CommandSpec] = {}
        self.callbacks: dict[str, Callable[[list[str], Caller], CallbackAnswer]] = {}
        self.subscriptions_enabled = False
        self.chat_changing_callbacks: set[str] = set()  # callback prefixes that change a chat
        for spec in (
            CommandSpec("start", "Welcome and examples", self.cmd_start),
            CommandSpec("help", "What you can ask", self.cmd_help),
            CommandSpec("brief", "Briefing on a country: /brief Armenia", self.cmd_brief),
            CommandSpec("topic", "Briefing on a topic: /topic caspian", self.cmd_topic),
            CommandSpec("timeline", "Dated events: /timeline Azerbaijan", self.cmd_timeline),
            CommandSpec("article", "One analysis in full: /article 3", self.cmd_article),
            CommandSpec("latest", "The newest analyses", self.cmd_latest),
            CommandSpec("search", "Full-text search: /search pipeline", self.cmd_search),
            CommandSpec("countries", "Countries covered", self.cmd_countries),
            CommandSpec("topics", "Topics covered", self.cmd_topics),
            CommandSpec("stats", "Operator statistics", self.cmd_stats, menu=False, admin=True),
        ):
            self.register(spec)
        self.callbacks.update(
            b=self.cb_brief, tl=self.cb_timeline, tlp=self.cb_timeline_page, src=self.cb_sources, a=self.cb_article
        )
        self.stats_providers: list[Callable[[Session], list[str]]] = []

    def register(self, spec: CommandSpec) -> None:
        self.specs[spec.name] = spec

    def menu(self) -> list[tuple[str, str]]:
        return [(s.name, s.description) for s in self.specs.values() if s.menu]

    def changes_chat(self, text: str, bot_username: str | None = None) -> bool:
        """Whether this command would change the chat's settings (groups: admins only)."""
        parsed = parse_command(text, bot_username)
        spec = self.specs.get(parsed[0]) if parsed else None
        return bool(spec and spec.changes_chat)

    # --- entry points --------------------------------------------------------------------

    def handle_text(self, text: str, caller: Caller, *, bot_username: str | None = None) -> list[OutMessage]:
        """A message typed by a user: a command, or (in private chats) a plain name."""
        parsed = parse_command(text, bot_username)
        if parsed is None:
            if text.strip().startswith("/"):
                return [] if not caller.private else self.renderer.notice("Unknown command. /help lists what I can do.")
            return self.handle_plain(text, caller) if caller.private else []
        name, args = parsed
        spec = self.specs.get(name)
        if spec is None:
            return self.renderer.notice("Unknown command. /help lists what I can do.") if caller.private else []
        if len(args) > self.settings.max_argument_chars:
            return self.renderer.notice(
                f"That is too long: {self.settings.max_argument_chars} characters at most. "
                "Try a name, e.g. <code>/brief Armenia</code>."
            )
        if spec.admin and not caller.is_bot_admin:
            return self.renderer.notice("Not allowed: this command is for the bot's operators.")
        if spec.changes_chat and not caller.private and not caller.is_chat_admin:
            return self.renderer.notice("Only this group's administrators can change its subscriptions.")
        return spec.handler(args, caller)

    def handle_plain(self, text: str, caller: Caller) -> list[OutMessage]:
        query = " ".join(text.split())
        if 0 < len(query) <= 60:
            resolution = resolve(query, self.knowledge)
            if resolution.key:
                return self._briefing_or_notice(resolution, "brief")
            if resolution.suggestions:
                return self._resolution_reply(resolution, "brief")
        return self.renderer.notice(
            "Send a country or topic name (e.g. <i>Armenia</i> or <i>caspian</i>), or /help for everything I can do."
        )

    def handle_callback(self, data: str, caller: Caller) -> CallbackAnswer:
        parts = parse_callback(data)
        handler = self.callbacks.get(parts[0]) if parts else None
        if handler is None:
            return CallbackAnswer(notice="This button has expired.")
        try:
            return handler(parts[1:], caller)
        except (IndexError, ValueError):
            return CallbackAnswer(notice="This button has expired.")

    def inline_cards(self, query: str, limit: int = 10) -> list[InlineCard]:
        query = " ".join(query.split())[:100]
        with Session(self.engine) as session:
            if query:
                resolution = resolve(query, self.knowledge)
                keys = [resolution.key] if resolution.key else [s.key for s in resolution.suggestions]
            else:
                keys = [r.entity.key for r in compose.compose_coverage(session, self.knowledge, "country").rows[:limit]]
            cards = []
            for key in keys[:limit]:
                briefing = compose.compose_briefing(session, self.knowledge, key, self.today())
                if briefing is None:
                    continue
                summary = briefing.situation[0].text if briefing.situation else ""
                first = self.renderer.briefing(briefing, subscribe=False)[0]
                cards.append(
                    InlineCard(
                        id=key.replace(":", "-"),
                        title=f"{briefing.entity.emoji} {briefing.entity.name}: briefing",
                        description=f"{briefing.article_count} analyses. {summary}"[:200],
                        message=OutMessage(first.text),
                        start_payload=start_payload(key),
                    )
                )
            return cards

    # --- commands ------------------------------------------------------------------------

    def _examples(self) -> list[str]:
        return ["/brief Armenia", "/topic caspian", "/timeline Azerbaijan"]

    def cmd_start(self, args: str, caller: Caller) -> list[OutMessage]:
        link = _DEEP_LINK.match(args.strip())
        if link:
            kind, arg = link["kind"], link["arg"]
            if kind == "article":
                return self.cmd_article(arg, caller)
            key = {"brief": "c:", "org": "o:", "topic": "t:", "timeline": ""}[kind] + (arg.upper() if kind in ("brief", "org") else arg)
            if kind == "timeline":
                return self.cmd_timeline(arg, caller)
            if self.knowledge.entity(key):
                return self._briefing_for_key(key)
        return self._help(welcome=True)

    def cmd_help(self, args: str, caller: Caller) -> list[OutMessage]:
        return self._help(welcome=False)

    def _help(self, *, welcome: bool) -> list[OutMessage]:
        with Session(self.engine) as session:
            articles = compose.article_count(session)
            countries = session.execute(
                select(func.count()).select_from(EntityStats).where(
                    EntityStats.entity_key.startswith("c:"), EntityStats.article_count > 0
                )
            ).scalar_one()
        return self.renderer.help(
            welcome=welcome,
            articles=articles,
            countries=countries,
            subscriptions=self.subscriptions_enabled,
            examples=self._examples() if welcome else [],
        )

    def _covered(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        with Session(self.engine) as session:
            return set(
                session.execute(
                    select(EntityStats.entity_key).where(EntityStats.entity_key.in_(keys), EntityStats.article_count > 0)
                ).scalars()
            )

    def _resolution_reply(self, resolution: Resolution, command: str, *, no_coverage: bool = False) -> list[OutMessage]:
        examples = {"brief": ["Armenia", "Kazakhstan"], "topic": ["caspian", "middle corridor"], "timeline": ["Azerbaijan", "tripp"]}.get(command, ["Armenia"])
        placeholder = {"topic": "TOPIC", "timeline": "NAME"}.get(command, "COUNTRY")
        entity = self.knowledge.entity(resolution.key) if resolution.key else None
        return self.renderer.resolution(
            resolution,
            command=command,
            placeholder=placeholder,
            examples=examples,
            limit=self.settings.max_argument_chars,
            entity=entity,
            no_coverage=no_coverage,
        )

    def _briefing_for_key(self, key: str) -> list[OutMessage]:
        with Session(self.engine) as session:
            briefing = compose.compose_briefing(session, self.knowledge, key, self.today())
        if briefing is None:
            neighbours = neighbours_with_coverage(key, self.knowledge, self._covered)
            resolution = Resolution(self.knowledge.entity(key).name, key=key, neighbours=neighbours)
            return self._resolution_reply(resolution, "brief", no_coverage=True)
        return self.renderer.briefing(briefing, subscribe=self.subscriptions_enabled)

    def _briefing_or_notice(self, resolution: Resolution, command: str) -> list[OutMessage]:
        if resolution.key is None:
            return self._resolution_reply(resolution, command)
        return self._briefing_for_key(resolution.key)

    def cmd_brief(self, args: str, caller: Caller) -> list[OutMessage]:
        return self._briefing_or_notice(resolve(args, self.knowledge, prefer="country"), "brief")

    def cmd_topic(self, args: str, caller: Caller) -> list[OutMessage]:
        return self._briefing_or_notice(resolve(args, self.knowledge, prefer="topic"), "topic")

    def cmd_timeline(self, args: str, caller: Caller) -> list[OutMessage]:
        resolution = resolve(args, self.knowledge, prefer="country")
        if resolution.key is None:
            return self._resolution_reply(resolution, "timeline")
        return self._timeline(resolution.key, 1, edit=False)

    def _timeline(self, key: str, page: int, *, edit: bool) -> list[OutMessage]:
        with Session(self.engine) as session:
            timeline = compose.compose_timeline(session, self.knowledge, key, page, TIMELINE_PAGE)
        if timeline is None:
            info = self.knowledge.entity(key)
            return self.renderer.notice(f"No dated events about {info.emoji} <b>{info.name}</b> are stored yet.")
        return self.renderer.timeline(timeline, edit=edit)

    def cmd_article(self, args: str, caller: Caller) -> list[OutMessage]:
        arg = args.strip().lstrip("#")
        if not arg.isdigit() or len(arg) > 12:
            return self.renderer.notice("Usage: <code>/article 3</code>, with the number shown in /latest or a briefing's sources.")
        with Session(self.engine) as session:
            view = compose.compose_article(session, self.knowledge, int(arg))
        if view is None:
            return self.renderer.notice(f"There is no article {int(arg)}. /latest lists the newest.")
        return self.renderer.article(view)

    def cmd_latest(self, args: str, caller: Caller) -> list[OutMessage]:
        key = None
        if args.strip():
            resolution = resolve(args, self.knowledge)
            if resolution.key is None:
                return self._resolution_reply(resolution, "latest")
            key = resolution.key
        with Session(self.engine) as session:
            return self.renderer.article_list(compose.compose_latest(session, self.knowledge, 8, key))

    def cmd_search(self, args: str, caller: Caller) -> list[OutMessage]:
        if not args.strip():
            return self.renderer.notice("Usage: <code>/search pipeline</code> or <code>/search Caspian naval exercises</code>.")
        with Session(self.engine) as session:
            result = compose.compose_search(
                session,
                self.knowledge,
                args.strip(),
                limit=self.settings.search_limit,
                time_cap_ms=self.settings.search_time_cap_ms,
            )
        return self.renderer.article_list(result)

    def cmd_countries(self, args: str, caller: Caller) -> list[OutMessage]:
        with Session(self.engine) as session:
            return self.renderer.coverage(compose.compose_coverage(session, self.knowledge, "country"))

    def cmd_topics(self, args: str, caller: Caller) -> list[OutMessage]:
        with Session(self.engine) as session:
            return self.renderer.coverage(compose.compose_coverage(session, self.knowledge, "topic"))

    def cmd_stats(self, args: str, caller: Caller) -> list[OutMessage]:
        from bot.store.stats import operator_stats

        with Session(self.engine) as session:
            lines = operator_stats(session)
            for provider in self.stats_providers:
                lines.extend(provider(session))
        return self.renderer.notice("\n".join(lines))

    # --- buttons -------------------------------------------------------------------------

    def _entity_key(self, raw: str) -> str:
        if self.knowledge.entity(raw) is None:
            raise ValueError(raw)
        return raw

    def cb_brief(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        return CallbackAnswer(self._briefing_for_key(self._entity_key(parts[0])))

    def cb_timeline(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        return CallbackAnswer(self._timeline(self._entity_key(parts[0]), int(parts[1]), edit=False))

    def cb_timeline_page(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        # Paging replaces the timeline message it was pressed on.
        return CallbackAnswer(self._timeline(self._entity_key(parts[0]), int(parts[1]), edit=True))

    def cb_sources(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        key = self._entity_key(parts[0])
        with Session(self.engine) as session:
            briefing = compose.compose_briefing(session, self.knowledge, key, self.today())
        if briefing is None:
            return CallbackAnswer(notice="No sources stored for this yet.")
        return CallbackAnswer(self.renderer.sources(briefing.entity, briefing.sources))

    def cb_article(self, parts: list[str], caller: Caller) -> CallbackAnswer:
        return CallbackAnswer(self.cmd_article(parts[0], caller))
