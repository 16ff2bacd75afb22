"""Keeps the Telegram bot connected: while the Bot API cannot be reached, it tries again
in the background (1, 2, 4 ... 60 seconds apart) and everything else runs on.

Each change is recorded with `store.delivery.health`, so the console shows
it whichever process runs the bot. A token Telegram refuses is not retried:
that needs the settings fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application

from bot.channels.base import ChannelStartError
from bot.channels.telegram import app as telegram_app
from bot.channels.telegram.handlers import HandlesInbound
from minyi.settings import Settings
from store.delivery import health
from store.models import Channel

log = logging.getLogger(__name__)

FIRST_WAIT, MAX_WAIT = 1.0, 60.0

Starter = Callable[[Settings, sessionmaker[Session], HandlesInbound],
                   Awaitable[Application]]  # type: ignore[type-arg]


class Keeper:
    """Starts the bot with `starter` (polling or webhook) until it is up, then holds it."""

    def __init__(self, settings: Settings,
                 session_factory: sessionmaker[Session],
                 engine: HandlesInbound, *, starter: Starter = telegram_app.start,
                 on_up: Callable[[Application], None] | None = None) -> None:  # type: ignore[type-arg]
        self.settings = settings
        self.session_factory = session_factory
        self.engine = engine
        self.starter = starter
        self.on_up = on_up
        self.application: Application | None = None  # type: ignore[type-arg]
        self.up = asyncio.Event()
        self.health = health.Health.CONNECTING
        self.attempts = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Connect (retrying while unreachable), then wait for `stop` and shut the bot down."""
        await self._say(health.Health.CONNECTING, "")
        wait = FIRST_WAIT
        while not stop.is_set():
            self.attempts += 1
            try:
                self.application = await self.starter(self.settings, self.session_factory,
                                                      self.engine)
            except telegram_app.BadToken as exc:
                log.error("Telegram bot not started: %s", exc)
                await self._say(health.Health.FAILED, str(exc))
                return
            except ChannelStartError as exc:
                log.warning("Telegram bot: %s; trying again in %.0f s", exc, wait)
                await self._say(health.Health.RETRYING, str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                wait = min(MAX_WAIT, wait * 2)
                continue
            break
        if self.application is None:
            return
        try:
            if self.on_up is not None:
                self.on_up(self.application)
            await self._say(health.Health.UP, f"@{self.application.bot.username}")
            self.up.set()
            await stop.wait()
        finally:
            # No "stopped" is recorded: another process may still hold the bot up.
            await telegram_app.stop(self.application)

    async def _say(self, state: health.Health, detail: str) -> None:
        self.health = state
        try:
            await asyncio.to_thread(self._record, state, detail)
        except Exception as exc:  # the database being away must not stop the bot
            log.warning("could not record the Telegram connection's state: %s", exc)

    def _record(self, state: health.Health, detail: str) -> None:
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            health.record(session, Channel.TELEGRAM, state, detail)
