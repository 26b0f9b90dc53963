"""OutMessage: one message as the bot sends it, and the inline keyboards under views.

Callback data is built here and only here, and is at most 64 bytes by construction:
entity keys are short ASCII ("c:AM", "t:middle-corridor") and numbers are bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CALLBACK_MAX_BYTES = 64
SEP = "|"


@dataclass
class OutMessage:
    text: str
    parse_mode: str | None = "HTML"
    reply_markup: dict[str, Any] | None = None
    edit: bool = False  # a button's answer that replaces the message it was pressed on
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "parse_mode": self.parse_mode, "reply_markup": self.reply_markup}


class CallbackTooLong(ValueError):
    pass


def callback(*parts: object) -> str:
    data = SEP.join(str(p) for p in parts)
    if len(data.encode("utf-8")) > CALLBACK_MAX_BYTES:
        raise CallbackTooLong(data)
    return data


def parse_callback(data: str) -> list[str]:
    return data.split(SEP)


def button(text: str, *parts: object) -> dict[str, str]:
    return {"text": text, "callback_data": callback(*parts)}


def keyboard(*rows: list[dict[str, str]]) -> dict[str, Any] | None:
    rows = tuple(row for row in rows if row)
    return {"inline_keyboard": [list(row) for row in rows]} if rows else None
