"""A python-telegram-bot Application run against the emulator from a synchronous test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from tests.botapi_emulator.emulator import BotAPIEmulator
from tests.botapi_emulator.wire import JSON, Sent, T


class BackgroundLoop:
    """An asyncio loop in a thread, so a synchronous test can run a bot beside it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run `coro` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class RunningBot:
    """A python-telegram-bot Application polling the emulator from a background loop.

    `act()` plays one user action and returns what the bot sent back once the
    application has finished handling it.
    """

    def __init__(self, app: Any, emu: BotAPIEmulator) -> None:
        from telegram import Update
        from telegram.ext import TypeHandler

        self.app = app
        self.emu = emu
        self.loop = BackgroundLoop()
        self._handled: set[int] = set()
        self._cond = threading.Condition()
        app.add_handler(TypeHandler(Update, self._mark), group=99)

    async def _mark(self, update: Any, context: Any) -> None:
        with self._cond:
            self._handled.add(update.update_id)
            self._cond.notify_all()

    async def _start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=1)

    async def _stop(self) -> None:
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()

    def start(self) -> RunningBot:
        self.loop.run(self._start())
        return self

    def stop(self) -> None:
        try:
            self.loop.run(self._stop())
        finally:
            self.loop.close()

    def wait_handled(self, update_id: int, timeout: float = 20.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: update_id in self._handled, timeout):
                raise AssertionError(f"update {update_id} was not handled")

    def act(self, chat_id: int, action: Callable[[], int | JSON]) -> list[Sent]:
        """Do `action` (an emulator call) and return the bot's messages it caused."""
        before = len(self.emu.sent_to(chat_id))
        result = action()
        self.wait_handled(result["update_id"] if isinstance(result, dict) else result)
        return self.emu.sent_to(chat_id)[before:]
