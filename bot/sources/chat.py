"""Live sources in the bot: the admin `/source` command, the polling job, /stats lines.

`register(app)` plugs these into the shared command layer and the bot's periodic jobs;
the work is done by `bot.sources.service` and `bot.sources.poll`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html

from sqlmodel import Session

from bot.briefing.messages import OutMessage
from bot.chat.commands import Caller, CommandSpec
from bot.sources.poll import poll_due_sources, poll_sources
from bot.sources.service import (
    SourceError,
    add_source,
    format_source_line,
    list_sources,
    source_health_summary,
)
from bot.store.db import session_scope
from bot.wiring import App, PeriodicJob

USAGE = (
    "Usage:\n<code>/source list</code>\n<code>/source add URL [every MINUTES] [name NAME]</code>\n"
    "<code>/source poll [NAME]</code>"
)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _parse_add(words: list[str]) -> tuple[str, int | None, str | None]:
    url, every, name = words[0], None, None
    rest = words[1:]
    while rest:
        keyword = rest.pop(0).lower()
        if keyword == "every" and rest and rest[0].isdigit():
            every = int(rest.pop(0))
        elif keyword == "name" and rest:
            name = rest.pop(0)
        else:
            raise SourceError(f"unexpected {keyword!r}")
    return url, every, name


class SourceCommand:
    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, args: str, caller: Caller) -> list[OutMessage]:
        words = args.split()
        action = words[0].lower() if words else ""
        renderer = self.app.renderer
        if action == "list":
            now = dt.datetime.now(dt.UTC)
            with Session(self.app.engine) as session:
                lines = [format_source_line(s, now) for s in list_sources(session)]
            body = "\n\n".join(_escape(line) for line in lines) or "No live sources yet."
            return renderer.messages(f"📡 <b>Live sources</b>\n\n{body}")
        if action == "add" and len(words) >= 2:
            try:
                url, every, name = _parse_add(words[1:])
                with session_scope(self.app.engine) as session:
                    source = add_source(session, url, name=name, every_minutes=every, settings=self.app.settings)
                    line = f"Added <b>{_escape(source.name)}</b>: {_escape(source.url)}, every {source.poll_every_minutes} min. It is polled on the next tick."
            except SourceError as exc:
                return renderer.notice(f"Cannot add that source: {_escape(str(exc))}")
            return renderer.notice(line)
        if action == "poll":
            try:
                results = poll_sources(
                    self.app.engine, self.app.knowledge, self.app.settings, names=words[1:] or None
                )
            except KeyError as exc:
                return renderer.notice(f"No live source named {_escape(str(exc.args[0]))}.")
            lines = "\n".join(_escape(r.line) for r in results) or "No live sources to poll."
            return renderer.messages(lines)
        return renderer.notice(USAGE)


def stats_lines(session: Session) -> list[str]:
    summary = source_health_summary(session)
    if not summary["total"]:
        return []
    lines = [f"Live sources: {summary['healthy']} healthy of {summary['total']}"]
    for source in summary["unhealthy_sources"]:
        lines.append(f"⚠️ {_escape(source['name'])}: {_escape((source['last_error'] or '')[:150])}")
    return lines


async def poll_job(app: App) -> None:
    await asyncio.to_thread(poll_due_sources, app.engine, app.knowledge, app.settings, dt.datetime.now(dt.UTC))


def register(app: App) -> None:
    app.commands.register(
        CommandSpec("source", "Live sources (operators)", SourceCommand(app), menu=False, admin=True)
    )
    app.commands.stats_providers.append(stats_lines)
    app.periodic_jobs.append(PeriodicJob("poll-sources", app.settings.source_poll_tick_seconds, poll_job, 30.0))
