"""`briefbot digest preview|run|status`, through `bot.digest.cli.register` on a parser of
its own (the main parser adds the same subcommands with one line)."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from bot.chat.commands import Caller
from bot.cli import Context
from bot.digest.cli import parse_instant, register
from bot.wiring import App
from tests.digest_support import add_articles, make_settings, utc
from tests.emulator import EmulatorThread, validate

T0 = utc(2026, 3, 4, 10)


def run_cli(settings, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    parser = argparse.ArgumentParser(prog="briefbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = args.handler(args, Context(settings))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def subscribed(engine, knowledge, database_url) -> int:  # noqa: ANN001
    app = App(make_settings(database_url), engine=engine, knowledge=knowledge)
    app.digest.clock = lambda: T0
    app.commands.handle_text(
        "/subscribe Armenia", Caller(chat_id=4242, chat_type="private", user_id=4242)
    )
    add_articles(
        engine,
        [
            {
                "title": "Armenia & the <treaty>",
                "ingested_at": utc(2026, 3, 5),
                "entities": {"c:AM": (5, True)},
            },
            {
                "title": "Caspian shipping grows",
                "ingested_at": utc(2026, 3, 6),
                "entities": {"t:caspian": (5, True)},
            },
        ],
    )
    return 4242


def test_preview_plain_and_json(database_url, subscribed) -> None:  # noqa: ANN001
    settings = make_settings(database_url)
    code, out, _ = run_cli(
        settings, "digest", "preview", str(subscribed), "--at", "2026-03-08T12:00"
    )
    assert code == 0
    assert "Armenia & the <treaty>" in out and "Caspian" not in out and "<b>" not in out
    code, out, _ = run_cli(
        settings, "digest", "preview", str(subscribed), "--json", "--at", "2026-03-08T12:00Z"
    )
    messages = json.loads(out)
    assert code == 0 and messages[0]["parse_mode"] == "HTML"
    assert "Armenia &amp; the &lt;treaty&gt;" in messages[0]["text"]
    for message in messages:
        validate(message["text"])


def test_run_refuses_without_a_token(database_url, subscribed) -> None:  # noqa: ANN001
    settings = make_settings(database_url, telegram_bot_token=None)
    code, out, err = run_cli(settings, "digest", "run", "--at", "2026-03-09T09:00Z")
    assert code == 2 and out == ""
    assert "needs TELEGRAM_BOT_TOKEN" in err and "nothing was sent" in err


def test_run_at_a_time_sends_once_then_status(database_url, subscribed) -> None:  # noqa: ANN001
    with EmulatorThread() as emu:
        emu.add_private_chat(emu.add_user("Ann", user_id=subscribed))
        settings = make_settings(database_url, emu.base_url, telegram_bot_token=emu.token)
        code, out, err = run_cli(settings, "digest", "run", "--at", "2026-03-08T09:00Z", "--json")
        assert code == 0, err
        assert json.loads(out)["sent"] == 0  # not due yet
        code, out, _ = run_cli(settings, "digest", "run", "--at", "2026-03-09T09:00Z")
        assert code == 0 and "sent 1 digests" in out
        code, out, _ = run_cli(settings, "digest", "run", "--at", "2026-03-09T09:30Z")
        assert "sent 0 digests" in out
        [message] = emu.messages(subscribed)
    assert "Armenia &amp; the &lt;treaty&gt;" in message["html"]
    code, out, _ = run_cli(settings, "digest", "status", "--json")
    assert json.loads(out)["counts"] == {"sent": 1}
    code, out, _ = run_cli(settings, "digest", "status")
    assert out.strip() == "sent: 1"


def test_parse_instant() -> None:
    assert parse_instant("2026-03-09T09:00") == utc(2026, 3, 9, 9)
    assert parse_instant("2026-03-09T13:00+04:00") == utc(2026, 3, 9, 9)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_instant("next monday")
