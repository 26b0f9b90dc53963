"""Strict local Telegram Bot API emulator for Briefbot's tests.

Owns the package's public surface: ``BotApiEmulator`` (async context manager on the test's
loop), ``EmulatorThread`` (same server on a background thread, for sync and subprocess tests),
flood ``Limits`` and the Telegram-HTML validator (``parse_telegram_html``, ``validate``).
"""

from .html import TelegramHtmlError, parse_telegram_html, utf16_len, validate, visible_length
from .limits import Limits, RateLimitStats
from .server import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, ApiCall, BotApiEmulator
from .thread import EmulatorThread
from .validation import ApiError

__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "EmulatorThread",
    "Limits",
    "RateLimitStats",
    "TelegramHtmlError",
    "parse_telegram_html",
    "utf16_len",
    "validate",
    "visible_length",
]
