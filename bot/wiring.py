"""The composition root: builds the command layer with everything plugged in.

The Telegram bot, the webhook server, the console and the CLI all start here, so they
answer the same commands in the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.briefing.render import Renderer
from bot.chat.commands import Commands
from bot.config import Settings
from bot.enrich import Knowledge, load_knowledge
from bot.store.db import make_engine


@dataclass
class PeriodicJob:
    """Work the bot process runs on a schedule (the digest tick, source polling)."""

    name: str
    interval_seconds: float
    run: Callable[[App], Awaitable[None]]
    first_seconds: float = 5.0


class App:
    """What one process holds: settings, the engine, the knowledge base, the commands."""

    def __init__(self, settings: Settings, *, engine: Engine | None = None, knowledge: Knowledge | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.knowledge = knowledge or load_knowledge(settings.data_dir)
        self.renderer = Renderer(settings.templates_dir)
        self.commands = Commands(self.engine, self.knowledge, self.renderer, settings)
        self.periodic_jobs: list[PeriodicJob] = []
        self._plug_in()

    def _plug_in(self) -> None:
        """Subscriptions and live sources add their commands, buttons and periodic jobs."""
        for plug in _PLUGINS:
            plug(self)


def _digest_plugin(app: App) -> None:
    from bot.digest.commands import register

    register(app)


def _sources_plugin(app: App) -> None:
    from bot.sources.chat import register

    register(app)


_PLUGINS = (_digest_plugin, _sources_plugin)
