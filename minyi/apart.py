"""`minyi bot` and `minyi worker`: the parts of `minyi serve` that run as processes of their own.

`minyi bot` answers Telegram: by long polling (one such process: Telegram
gives updates to one poller), or, when TELEGRAM_WEBHOOK_URL is set, by
webhook (as many processes as wanted, behind the reverse proxy). Replies to
the person chatting go out from here; feedback goes through the outbox.

`minyi worker` delivers the outbox on every enabled channel and runs the
scheduled jobs; several may run on one PostgreSQL database: each outbox row
is claimed by one of them (`store.delivery.outbox.claim_due`) and each job
runs once per due time (`minyi.scheduler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

from bot.channels import registry
from minyi.runner import StartupError, WebServer, configure_logging, telegram_keeper
from minyi.settings import Settings
from store import limits
from store.conversation.engine import Engine
from store.db import make_engine, make_sessionmaker
from store.delivery import health
from store.ops import heap

if TYPE_CHECKING:
    from bot.channels.telegram.keeper import Keeper

log = logging.getLogger("minyi")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


async def run_bot(settings: Settings, stop: asyncio.Event | None = None, *,
                  settle: bool = False) -> None:
    """Answer Telegram until `stop` is set (or SIGINT/SIGTERM arrives). `settle`: the process
    is this run's alone (`minyi bot`): its start-up objects are frozen once built
    (`store.ops.heap`)."""
    if not settings.telegram_bot_token:
        raise StartupError("TELEGRAM_BOT_TOKEN is not set: there is no bot to run")
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    webhook = settings.telegram_webhook_url is not None
    keeper = telegram_keeper(settings, sessions, Engine(settings.engine_config()),
                             registry(settings, sessions), webhook=webhook)
    if settle:
        heap.settle()
    task = asyncio.create_task(keeper.run(stop), name="telegram")
    server: WebServer | None = None
    try:
        if webhook:
            server = await _webhook_server(settings, keeper, stop, task)
        await task
        if keeper.health == health.Health.FAILED:
            # Exit non-zero, so that the service manager shows it; retrying cannot help.
            raise StartupError("Telegram refused TELEGRAM_BOT_TOKEN; check it with BotFather")
    finally:
        stop.set()
        if server is not None:
            await asyncio.to_thread(server.stop)
        if not task.done():
            await asyncio.wait_for(task, timeout=15)
        engine.dispose()
        log.info("stopped")


async def _webhook_server(settings: Settings, keeper: Keeper, stop: asyncio.Event,
                          task: asyncio.Task[None]) -> WebServer | None:
    """Once the bot is up, listen for Telegram's posts on BOT_HOST:BOT_PORT."""
    from bot.channels.telegram.webhook import webhook_app

    assert settings.telegram_webhook_secret
    up = asyncio.create_task(keeper.up.wait())
    await asyncio.wait({up, task, asyncio.create_task(stop.wait())},
                       return_when=asyncio.FIRST_COMPLETED)
    if keeper.application is None or not keeper.up.is_set():
        up.cancel()
        return None
    app = webhook_app(keeper.application, asyncio.get_running_loop(),
                      settings.telegram_webhook_secret)
    server = WebServer(app, settings.bot_host, settings.bot_port)
    server.start()
    log.info("Telegram webhook listening on %s (Telegram posts to %s)", server.address,
             settings.telegram_webhook_url)
    return server


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, *,
                     settle: bool = False) -> None:
    """Deliver the outbox and run the scheduled jobs until `stop` is set. `settle`: as
    `run_bot`'s (`minyi worker`)."""
    from bot.channels.telegram import app as telegram_app
    from minyi.notifier import Notifier
    from minyi.scheduler import build_scheduler

    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    channels = registry(settings, sessions)
    keeper_task: asyncio.Task[None] | None = None
    if settings.telegram_bot_token:
        # Only to send: no updates are taken here (that is `minyi bot`'s).
        keeper = telegram_keeper(settings, sessions, Engine(settings.engine_config()), channels)
        keeper.starter = telegram_app.connect
        keeper_task = asyncio.create_task(keeper.run(stop), name="telegram")
    channels.start()
    scheduler = build_scheduler(sessions, settings)
    scheduler.start()
    if settle:
        heap.settle()
    log.info("worker running: outbox on %s, scheduled jobs", ", ".join(c.kind for c in channels))
    try:
        await Notifier(settings, sessions, channels).run(stop)
    finally:
        stop.set()
        await asyncio.to_thread(scheduler.shutdown, True)
        if keeper_task is not None:
            await asyncio.wait_for(keeper_task, timeout=15)
        channels.close()
        engine.dispose()
        log.info("stopped")


def bot(settings: Settings) -> None:
    configure_logging(settings.log_format)
    limits.configure(settings.redis_url)
    asyncio.run(run_bot(settings, settle=True))


def worker(settings: Settings) -> None:
    configure_logging(settings.log_format)
    limits.configure(settings.redis_url)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_worker(settings, settle=True))
