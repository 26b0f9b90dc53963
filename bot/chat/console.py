"""The interactive console: the bot's commands in a terminal, for newcomers and operators.

Reads a line, hands it to the same command layer the Telegram bot uses, and prints the
messages as plain text. Buttons are listed as numbered choices; typing the number
presses the button.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.briefing.messages import OutMessage
from bot.briefing.split import to_plain
from bot.chat.commands import Caller, Commands

CONSOLE_CHAT_ID = 0
PROMPT = "briefbot> "


def _buttons(messages: list[OutMessage]) -> list[tuple[str, str]]:
    found = []
    for message in messages:
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    found.append((button["text"], button["callback_data"]))
    return found


class Console:
    def __init__(self, commands: Commands, out: TextIO = sys.stdout) -> None:
        self.commands = commands
        self.out = out
        self.caller = Caller(chat_id=CONSOLE_CHAT_ID, chat_type="console", user_id=0, is_bot_admin=True)
        self.choices: list[tuple[str, str]] = []

    def show(self, messages: list[OutMessage]) -> None:
        for message in messages:
            self.out.write(to_plain(message.text) + "\n\n")
        self.choices = _buttons(messages)
        if self.choices:
            listed = "   ".join(f"[{n}] {text}" for n, (text, _) in enumerate(self.choices, start=1))
            self.out.write(f"{listed}\n(type a number to press a button)\n\n")
        self.out.flush()

    def handle(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if line.isdigit() and self.choices and 1 <= int(line) <= len(self.choices):
            answer = self.commands.handle_callback(self.choices[int(line) - 1][1], self.caller)
            if answer.notice:
                self.out.write(answer.notice + "\n\n")
            self.show(answer.messages)
            return
        self.show(self.commands.handle_text(line, self.caller))

    def loop(self, read: Callable[[str], str] = input) -> int:
        self.out.write(
            "Briefbot console: no TELEGRAM_BOT_TOKEN is set, so the bot answers here.\n"
            "Type /help, /brief Armenia, /topic caspian ... and /quit to leave.\n\n"
        )
        while True:
            try:
                line = read(PROMPT)
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return 0
            if line.strip() in ("/quit", "/exit", "quit", "exit"):
                return 0
            self.handle(line)
