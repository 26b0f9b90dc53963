"""`briefbot run` without a token: the console answers the bot's commands in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import SAMPLE


def test_console_answers_commands_and_buttons(sqlite_url, sqlite_cli):
    assert sqlite_cli("ingest", str(SAMPLE)).exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(DATABASE_URL=sqlite_url, TELEGRAM_BOT_TOKEN="")
    script = "/help\n/brief Armenia\n1\n/topic caspian\n/brief Narnia\n/quit\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no TELEGRAM_BOT_TOKEN is set" in out
    assert "what you can ask" in out
    assert "🇦🇲 Armenia · briefing" in out and "Key developments" in out
    assert "[1] 🗓 Timeline" in out  # buttons offered as numbered choices
    assert "Timeline: 🇦🇲 Armenia" in out  # "1" pressed the first button
    assert "Caspian Sea · topic briefing" in out
    assert "don't know “Narnia”" in out
    assert "<b>" not in out and "&amp;" not in out
