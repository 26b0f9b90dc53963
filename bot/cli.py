"""The `briefbot` command: operators' and tests' way into every part of the bot.

Each subcommand parses its arguments, opens what it needs from the settings and calls
the domain; output is plain text, or JSON with `--json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import Settings, load_settings
from bot.logging_setup import configure_logging

Handler = Callable[[argparse.Namespace, Settings], int]


class Context:
    """Lazily opened resources shared by one CLI invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine = None
        self._knowledge = None
        self._app = None
        self.check_schema = True

    @property
    def app(self):  # noqa: ANN201
        if self._app is None:
            from bot.wiring import App

            self._app = App(self.settings, engine=self.engine, knowledge=self.knowledge)
        return self._app

    @property
    def engine(self):  # noqa: ANN201
        if self._engine is None:
            from bot.store.db import make_engine, require_current_schema

            self._engine = make_engine(self.settings.database_url)
            if self.check_schema:
                require_current_schema(self._engine)
        return self._engine

    @property
    def knowledge(self):  # noqa: ANN201
        if self._knowledge is None:
            from bot.enrich import load_knowledge

            self._knowledge = load_knowledge(self.settings.data_dir)
        return self._knowledge


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_db(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store import db

    ctx.check_schema = False
    if args.action == "upgrade":
        db.upgrade(ctx.engine, args.revision or "head")
        print(f"database at revision {db.current_revision(ctx.engine)}")
    elif args.action == "downgrade":
        db.downgrade(ctx.engine, args.revision or "-1")
        print(f"database at revision {db.current_revision(ctx.engine) or 'base'}")
    else:
        print(db.current_revision(ctx.engine) or "base")
    return 0


def cmd_ingest(args: argparse.Namespace, ctx: Context) -> int:
    from bot.ingest.loader import ingest_paths, progress_bar

    report = ingest_paths(
        ctx.engine, [Path(p) for p in args.paths], ctx.knowledge, source_name=args.source, progress=progress_bar()
    )
    if not report.files:
        print("no files to ingest", file=sys.stderr)
        return 2
    for result in report.files:
        if result.error:
            print(result.line, file=sys.stderr)
        elif args.verbose:
            print(result.line)
    print(report.summary)
    return 1 if report.failed else 0


def cmd_articles(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from bot.store.corpus import all_articles, mentions_by_article

    with Session(ctx.engine) as session:
        articles = all_articles(session)
        mentions = mentions_by_article(session, [a.id for a in articles])
        rows = []
        for article in articles:
            found = mentions.get(article.id, [])
            rows.append(
                {
                    "id": article.id,
                    "title": article.title,
                    "title_inferred": article.title_inferred,
                    "author": article.author,
                    "published": article.published.isoformat() if article.published else None,
                    "date_inferred": article.date_inferred,
                    "date_precision": article.date_precision,
                    "sections": [s["name"] for s in article.sections],
                    "lede": article.lede,
                    "url": article.url,
                    "category": article.category,
                    "countries": [
                        {
                            "code": m.entity_key[2:],
                            "mentions": m.mentions,
                            "salience": round(m.salience, 4),
                            "primary": m.is_primary,
                        }
                        for m in found
                        if m.entity_key.startswith("c:")
                    ],
                    "organisations": [m.entity_key[2:] for m in found if m.entity_key.startswith("o:")],
                    "topics": [m.entity_key[2:] for m in found if m.entity_key.startswith("t:")],
                }
            )
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no articles stored; try: briefbot ingest data/cacianalyst-2025-sep-nov.txt")
    for row in rows:
        date = row["published"] or "undated"
        if row["published"] and row["date_precision"] != "day":
            date = date[: 4 if row["date_precision"] == "year" else 7]
        if row["date_inferred"]:
            date += " (inferred)"
        title = row["title"] + (" [headline inferred]" if row["title_inferred"] else "")
        countries = ", ".join(c["code"] + ("*" if c["primary"] else "") for c in row["countries"])
        print(f"{row['id']:>5}  {date:<22} {row['author'] or '-'}: {title}")
        if countries:
            print(f"       countries: {countries}; topics: {', '.join(row['topics']) or '-'}")
    return 0


def cmd_enrich(args: argparse.Namespace, ctx: Context) -> int:
    from bot.ingest.persist import reenrich_all
    from bot.store.db import refresh_planner_statistics, session_scope

    if not args.all:
        print("usage: briefbot enrich --all", file=sys.stderr)
        return 2
    with session_scope(ctx.engine) as session:
        count = reenrich_all(session, ctx.knowledge)
    refresh_planner_statistics(ctx.engine)
    print(f"enriched {count} articles")
    return 0


def _resolve_entity(ctx: Context, name: str | None) -> tuple[str | None, int]:
    if not name:
        return None, 0
    keys = ctx.knowledge.lookup(name)
    if not keys:
        print(f"unknown country, organisation or topic: {name!r}", file=sys.stderr)
        return None, 2
    return keys[0], 0


def _event_json(r) -> dict:  # noqa: ANN001 - an EventRow
    return {
        "date": r.date.isoformat(),
        "precision": r.precision,
        "year_inferred": r.year_inferred,
        "phrase": r.phrase,
        "countries": [k[2:] for k in r.entities if k.startswith("c:")],
        "entities": list(r.entities),
        "sentence": r.sentence,
        "article_id": r.article_id,
    }


def _event_line(r) -> str:  # noqa: ANN001
    flag = "?" if r.year_inferred else " "
    return f"{r.date.isoformat()} {r.precision:<5}{flag} [{r.article_id}] {r.sentence}"


def _figure_json(r) -> dict:  # noqa: ANN001 - a FigureRow
    return {
        "phrase": r.phrase,
        "kind": r.kind,
        "value": r.value,
        "unit": r.unit,
        "entities": list(r.entities),
        "sentence": r.sentence,
        "article_id": r.article_id,
    }


def _figure_line(r) -> str:  # noqa: ANN001
    return f"{r.phrase:<28} [{r.article_id}] {r.sentence}"


def cmd_extracted(args: argparse.Namespace, ctx: Context) -> int:
    """`briefbot events|figures [NAME]`: what enrichment extracted, newest first."""
    from sqlmodel import Session

    from bot.store import corpus

    query, as_json, as_line = {
        "events": (corpus.events, _event_json, _event_line),
        "figures": (corpus.figures, _figure_json, _figure_line),
    }[args.command]
    key, status = _resolve_entity(ctx, args.name)
    if status:
        return status
    with Session(ctx.engine) as session:
        rows = query(session, key, args.limit)
    if args.json:
        _print_json([as_json(r) for r in rows])
    else:
        for r in rows:
            print(as_line(r))
    return 0


VIEW_COMMANDS = {
    "brief": ("COUNTRY", "briefing on a country (or organisation, or topic)"),
    "topic": ("TOPIC", "briefing on a topic"),
    "timeline": ("NAME", "dated events of a country or topic"),
    "article": ("ID", "one analysis in full"),
    "search": ("QUERY", "full-text search"),
    "latest": (None, "the newest analyses"),
    "countries": (None, "countries with coverage"),
    "topics": (None, "topics and their coverage"),
    "stats": (None, "operator statistics"),
}
FOUND_VIEWS = {"briefing", "timeline", "article", "list", "coverage", "sources", "help"}


def cmd_view(args: argparse.Namespace, ctx: Context) -> int:
    from bot.briefing.split import to_plain
    from bot.chat.commands import Caller
    from bot.chat.console import CONSOLE_CHAT_ID

    argument = " ".join(getattr(args, "argument", None) or [])
    caller = Caller(chat_id=CONSOLE_CHAT_ID, chat_type="console", is_bot_admin=True)
    messages = ctx.app.commands.handle_text(f"/{args.command} {argument}".strip(), caller)
    if args.json:
        _print_json([m.to_json() for m in messages])
    else:
        print("\n\n".join(to_plain(m.text) for m in messages))
    found = bool(messages) and messages[0].meta.get("view") in FOUND_VIEWS
    return 0 if found else 1


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    if ctx.settings.telegram_bot_token is None:
        from bot.chat.console import Console

        return Console(ctx.app.commands).loop()
    from bot.chat.telegram import run_polling

    return run_polling(ctx.app)


def cmd_webhook(args: argparse.Namespace, ctx: Context) -> int:
    from bot.chat.telegram import run_webhook

    return run_webhook(ctx.app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="briefbot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("db", help="database migrations")
    p.add_argument("action", choices=["upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?")
    p.set_defaults(handler=cmd_db)

    p = sub.add_parser("ingest", help="load capture or JSON Lines files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--source", help="source name to file the articles under (default: the file name)")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per file, not only failures")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("articles", help="list stored articles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_articles)

    p = sub.add_parser("enrich", help="enrich stored articles again")
    p.add_argument("--all", action="store_true", help="every stored article")
    p.set_defaults(handler=cmd_enrich)

    for name, help_text in (("events", "dated events, newest first"), ("figures", "key figures, newest first")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("name", nargs="?", metavar="NAME", help="a country, organisation or topic")
        p.add_argument("--json", action="store_true")
        p.add_argument("--limit", type=int, default=None)
        p.set_defaults(handler=cmd_extracted)

    for name, (metavar, help_text) in VIEW_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if metavar:
            p.add_argument("argument", nargs="+", metavar=metavar)
        p.add_argument("--json", action="store_true", help="the exact messages the bot would send")
        p.set_defaults(handler=cmd_view)

    from bot.digest.cli import register as register_digest
    from bot.sources.cli import register as register_sources

    register_sources(sub)
    register_digest(sub)

    p = sub.add_parser("run", help="the bot by long polling; without a token, the console")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("webhook", help="the bot behind a webhook on $PORT (needs WEBHOOK_URL, WEBHOOK_SECRET)")
    p.set_defaults(handler=cmd_webhook)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    from bot.store.db import NotMigrated

    try:
        return args.handler(args, Context(settings))
    except NotMigrated as exc:
        print(f"briefbot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
