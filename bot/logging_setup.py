"""Logging for every entry point; keeps the bot token out of the logs."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")


def redact(text: str) -> str:
    return _TOKEN.sub("<token>", text)


class RedactingFormatter(logging.Formatter):
    """Last line of defence: a token in a message or a traceback is masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(getattr(h, "briefbot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.briefbot = True  # type: ignore[attr-defined]
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
