"""`briefbot source ...`: add, list, remove and poll live sources from the command line.

Owns the argument parsing and the output of the `source` subcommand; the work is done by
`bot.sources.service` and `bot.sources.poll`. `register(subparsers)` adds the subcommand
to the `briefbot` parser; handlers take `(args, ctx)` with ctx.engine, ctx.knowledge and
ctx.settings, as every `briefbot` handler does.

  briefbot source add URL [--name NAME] [--every MINUTES] [--full-text | --no-full-text]
  briefbot source list
  briefbot source remove NAME
  briefbot source poll [NAME ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from bot.sources.service import (
    DEFAULT_EVERY_MINUTES,
    SourceError,
    add_source,
    format_source_line,
    list_sources,
    remove_source,
)
from bot.store.db import session_scope


def cmd_source_add(args: argparse.Namespace, ctx: Any) -> int:
    try:
        with session_scope(ctx.engine) as session:
            source = add_source(
                session,
                args.url,
                name=args.name,
                every_minutes=args.every,
                full_text=args.full_text,
                settings=ctx.settings,
            )
            name, url, every = source.name, source.url, source.poll_every_minutes
            full_text = source.fetch_full_text
    except SourceError as exc:
        print(f"cannot add {args.url}: {exc}", file=sys.stderr)
        return 2
    print(
        f"added {name}: {url}, every {every} min, full text {'on' if full_text else 'off'}; "
        f"due now (run `briefbot source poll {name}` to poll it at once)"
    )
    return 0


def cmd_source_list(args: argparse.Namespace, ctx: Any) -> int:
    now = dt.datetime.now(dt.UTC)
    with session_scope(ctx.engine) as session:
        lines = [format_source_line(source, now) for source in list_sources(session)]
    if not lines:
        print("no live sources; add one with: briefbot source add URL")
    for line in lines:
        print(line)
    return 0


def cmd_source_remove(args: argparse.Namespace, ctx: Any) -> int:
    with session_scope(ctx.engine) as session:
        removed = remove_source(session, args.name)
    if not removed:
        print(f"no live source named {args.name!r}", file=sys.stderr)
        return 2
    print(f"removed {args.name} (its articles stay)")
    return 0


def cmd_source_poll(args: argparse.Namespace, ctx: Any) -> int:
    from bot.sources.poll import poll_sources

    try:
        results = poll_sources(ctx.engine, ctx.knowledge, ctx.settings, names=args.names or None)
    except KeyError as exc:
        print(f"no live source named {exc.args[0]}", file=sys.stderr)
        return 2
    if not results:
        print("no live sources to poll")
        return 0
    for result in results:
        print(result.line, file=sys.stdout if result.ok else sys.stderr)
    return 1 if any(not r.ok for r in results) else 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `source` and its actions to the `briefbot` subparsers."""
    parser = subparsers.add_parser("source", help="live sources: feeds, pages, listings")
    actions = parser.add_subparsers(dest="source_action", required=True)

    p = actions.add_parser("add", help="add a feed, article page, listing, capture or JSON Lines URL")
    p.add_argument("url", metavar="URL")
    p.add_argument("--name", help="a short name (default: the host, made unique)")
    p.add_argument(
        "--every",
        type=int,
        metavar="MINUTES",
        help=f"poll interval in minutes (default {DEFAULT_EVERY_MINUTES})",
    )
    p.add_argument(
        "--full-text",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fetch an entry's page when the feed gives only a summary (default: on)",
    )
    p.set_defaults(handler=cmd_source_add)

    p = actions.add_parser("list", help="sources with their schedule and health")
    p.set_defaults(handler=cmd_source_list)

    p = actions.add_parser("remove", help="remove a source (its articles stay)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=cmd_source_remove)

    p = actions.add_parser("poll", help="poll sources now, whatever their schedule")
    p.add_argument("names", nargs="*", metavar="NAME", help="default: every live source")
    p.set_defaults(handler=cmd_source_poll)
    return parser
