"""``EmulatorThread``: the Bot API emulator on its own event loop in a background thread.

Owns only the hosting: start a private loop in a daemon thread, run ``BotApiEmulator`` there,
and stop it cleanly. Sync tests and tests that start the bot as a subprocess (with
``TELEGRAM_API_BASE_URL=emu.base_url``) use it; every control method of the emulator is
thread-safe, async waiters are forwarded to the emulator's loop, and the ``*_sync`` waiters
block the calling thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .server import BotApiEmulator

__all__ = ["EmulatorThread"]


class EmulatorThread:
    """``with EmulatorThread(**same_kwargs_as_BotApiEmulator) as emu: ...``

    Attribute access is forwarded to the running ``BotApiEmulator`` (``emu.base_url``,
    ``emu.add_user(...)``, ``emu.wait_for_messages_sync(...)``, ...); ``emu.emulator`` is the
    instance itself.
    """

    def __init__(self, *, start_timeout: float = 10.0, **kwargs: Any):
        self._kwargs = kwargs
        self._start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emulator: BotApiEmulator | None = None
        self._error: BaseException | None = None

    @property
    def emulator(self) -> BotApiEmulator:
        if self._emulator is None:
            raise RuntimeError("EmulatorThread is not running; use it as a context manager")
        return self._emulator

    def start(self) -> EmulatorThread:
        if self._thread is not None:
            raise RuntimeError("EmulatorThread already started")
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                emulator = BotApiEmulator(**self._kwargs)
                loop.run_until_complete(emulator.start())
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                ready.set()
                loop.close()
                return
            self._emulator = emulator
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(emulator.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="bot-api-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(self._start_timeout):
            raise TimeoutError("Bot API emulator did not start in time")
        if self._error is not None:
            raise RuntimeError("Bot API emulator failed to start") from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError("Bot API emulator thread did not stop in time")
        self._thread = None

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names EmulatorThread itself lacks: forward to the emulator.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.emulator, name)
