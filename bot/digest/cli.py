"""`briefbot digest ...`: the operator's way to look at and run digests.

    briefbot digest preview CHAT_ID [--thread N] [--at ISO] [--json]
        the digest that chat would get now (plain text, or the exact messages as JSON)
    briefbot digest run [--at ISO] [--worker NAME] [--max-seconds S]
        plan and send the digests due at --at (default: now) once, then exit; sends through
        TELEGRAM_API_BASE_URL with TELEGRAM_BOT_TOKEN and refuses to start without a token
    briefbot digest status [--json]
        deliveries by status, and the latest rows that need an operator's eye

`--at` is the controllable clock: it decides what is due and what is past the grace window.
`register(subparsers)` adds these to the main parser; handlers take (args, ctx) where ctx
has `.engine`, `.knowledge`, `.settings`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

NO_TOKEN = (
    "briefbot digest run needs TELEGRAM_BOT_TOKEN (and TELEGRAM_API_BASE_URL to send through "
    "anything but api.telegram.org); nothing was sent"
)


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO time: {text!r} (e.g. 2026-11-30T09:00Z)"
        ) from exc
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _renderer(ctx):  # noqa: ANN001, ANN202
    from bot.briefing.render import Renderer

    return Renderer(ctx.settings.templates_dir)


def cmd_preview(args: argparse.Namespace, ctx) -> int:  # noqa: ANN001
    from bot.briefing.split import to_plain
    from bot.digest.runner import preview

    messages = preview(
        ctx.engine,
        ctx.knowledge,
        _renderer(ctx),
        ctx.settings,
        chat_id=args.chat_id,
        thread_id=args.thread,
        now=args.at,
    )
    if args.json:
        _print_json([m.to_json() for m in messages])
    else:
        print("\n\n".join(to_plain(m.text) for m in messages))
    return 0


async def _run(args: argparse.Namespace, ctx) -> int:  # noqa: ANN001
    from bot.digest.leader import Leadership, new_worker_id
    from bot.digest.runner import DigestRunner
    from bot.digest.sender import make_bot

    settings = ctx.settings
    worker = new_worker_id(args.worker)
    leadership = Leadership(ctx.engine, worker)
    bot = make_bot(
        settings.telegram_bot_token.get_secret_value(),
        settings.telegram_api_base_url,
        connections=args.max_in_flight + 1,
    )
    try:
        async with bot:
            runner = DigestRunner(
                ctx.engine,
                ctx.knowledge,
                _renderer(ctx),
                settings,
                bot=bot,
                worker=worker,
                leadership=leadership,
                max_in_flight=args.max_in_flight,
                claim_batch=args.claim_batch,
            )
            report = await runner.run_once(args.at, max_seconds=args.max_seconds)
    finally:
        await asyncio.to_thread(leadership.close)
    if args.json:
        plan = report.plan
        _print_json(
            {
                "at": report.at.isoformat(),
                "leader": report.leader,
                "planned": None if plan is None else plan.__dict__,
                "sent": report.counts.sent,
                "messages": report.counts.messages,
                "failed": report.counts.failed,
                "uncertain": report.counts.uncertain,
                "skipped": report.counts.skipped,
                "resent_after_crash": report.counts.resent_after_crash,
                "rate_limited": report.counts.rate_limited,
                "errors": report.counts.errors,
            }
        )
    else:
        print(report.summary())
    return 1 if report.counts.errors else 0


def cmd_run(args: argparse.Namespace, ctx) -> int:  # noqa: ANN001
    if ctx.settings.telegram_bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    return asyncio.run(_run(args, ctx))


def cmd_status(args: argparse.Namespace, ctx) -> int:  # noqa: ANN001
    from bot.digest.outbox import FAILED, UNCERTAIN, status_counts
    from bot.store.models import Delivery

    with Session(ctx.engine) as session:
        counts = status_counts(session)
        attention = (
            session.execute(
                select(Delivery)
                .where(Delivery.status.in_((UNCERTAIN, FAILED)))
                .order_by(Delivery.id.desc())
                .limit(20)
            )
            .scalars()
            .all()
        )
    rows = [
        {
            "id": d.id,
            "chat_id": d.chat_id,
            "thread_id": d.thread_id,
            "period": d.period,
            "status": d.status,
            "attempts": d.attempts,
            "parts_sent": d.parts_sent,
            "last_error": d.last_error,
        }
        for d in attention
    ]
    if args.json:
        _print_json({"counts": counts, "attention": rows})
        return 0
    print(
        ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
        or "no deliveries yet"
    )
    for row in rows:
        print(
            f"{row['id']:>7} chat {row['chat_id']} {row['period']} {row['status']}: {row['last_error']}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("digest", help="subscription digests: preview, run, status")
    commands = parser.add_subparsers(dest="digest_command", required=True)

    p = commands.add_parser("preview", help="the digest a chat would get now")
    p.add_argument("chat_id", type=int, metavar="CHAT_ID")
    p.add_argument("--thread", type=int, default=0, help="forum topic (message_thread_id)")
    p.add_argument("--at", type=parse_instant, default=None, help="as if it were this time (ISO)")
    p.add_argument("--json", action="store_true", help="the exact messages the bot would send")
    p.set_defaults(handler=cmd_preview)

    p = commands.add_parser("run", help="plan and send the digests due now (or --at), once")
    p.add_argument(
        "--at", type=parse_instant, default=None, help="the moment to run for (ISO; default now)"
    )
    p.add_argument("--worker", default=None, help="worker name for claims (default: host name)")
    p.add_argument("--max-in-flight", type=int, default=8, help="sends running at once")
    p.add_argument("--max-seconds", type=float, default=None, help="stop sending after this long")
    p.add_argument("--claim-batch", type=int, default=200, help="rows claimed at a time")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_run)

    p = commands.add_parser("status", help="deliveries by status; failed and uncertain ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)
