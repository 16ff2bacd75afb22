"""`minyi serve`: everything in one process.

waitress serves the Flask app (console, web chat, the WeChat callback) from
its own thread; one asyncio loop runs the Telegram bot (long polling, when a
token is set), the notifier that delivers the outbox through the channel
registry, and the scheduler; the WeChat inbox worker (when WECHAT_* are set)
runs in a thread of its own. SIGINT or SIGTERM stops
them in the reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Registry, registry
from minyi import logs
from minyi.scheduler import build_scheduler
from minyi.settings import Settings
from store import limits
from store.conversation.engine import Engine
from store.db import make_engine, make_sessionmaker
from store.models import Channel
from store.ops import heap

if TYPE_CHECKING:
    from bot.channels.telegram.keeper import Keeper

log = logging.getLogger("minyi")


class StartupError(Exception):
    """minyi cannot start; the message says what to fix."""


def configure_logging(fmt: str = "kv", level: int = logging.INFO) -> None:
    """One tagged line per event on stderr (`minyi.logs`)."""
    logs.configure(fmt, level)


class WebServer:
    """waitress in a thread, stoppable from the asyncio side."""

    def __init__(self, app: Any, host: str, port: int, threads: int = 8) -> None:
        from waitress import create_server

        try:
            self.server: Any = create_server(app, host=host, port=port, threads=threads,
                                             ident="minyi", clear_untrusted_proxy_headers=True)
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                               "is minyi already running? Choose another PORT") from exc
        self.thread = threading.Thread(target=self._run, name="waitress", daemon=True)

    @property
    def address(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def _run(self) -> None:
        try:
            self.server.run()
        finally:
            self.server.task_dispatcher.shutdown()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        from waitress import wasyncore

        # close_all must run inside waitress's own loop: the trigger hands it over.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout)


def telegram_keeper(settings: Settings, session_factory: sessionmaker[Session],
                    conversations: Engine, channels: Registry, *,
                    webhook: bool = False) -> Keeper:
    """The Telegram bot, kept connected in the background; once up, `channels` send through it."""
    from bot.channels.telegram import app as telegram_app
    from bot.channels.telegram.channel import TelegramChannel
    from bot.channels.telegram.keeper import Keeper

    def up(application: Any) -> None:
        channel = channels.get(Channel.TELEGRAM)
        if isinstance(channel, TelegramChannel):
            channel.connect(application.bot)
        log.info("Telegram bot @%s is %s", application.bot.username,
                 "taking updates by webhook" if webhook else "polling")

    return Keeper(settings, session_factory, conversations, on_up=up,
                  starter=telegram_app.start_webhook if webhook else telegram_app.start)


async def run(settings: Settings, stop: asyncio.Event | None = None, *,
              settle: bool = False) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM arrives). `settle`: the process is this
    run's alone (`minyi serve`), and its start-up objects are frozen once built
    (`store.ops.heap`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)

    engine = make_engine(settings.database_url)
    session_factory = make_sessionmaker(engine)
    # One conversation engine behind both channels: the same form, the same rules.
    conversations = Engine(settings.engine_config())
    keeper_task: asyncio.Task[None] | None = None
    web: WebServer | None = None
    scheduler = None
    notifier_task: asyncio.Task[None] | None = None
    channels: Registry | None = None
    crashed: BaseException | None = None
    try:
        channels = registry(settings, session_factory)
        log.info("channels switched on: %s", ", ".join(c.kind for c in channels))
        if settings.telegram_bot_token:
            log.info("Telegram bot: starting long polling against %s", settings.telegram_base_url
                     .replace(settings.telegram_bot_token, "<token>"))
            keeper = telegram_keeper(settings, session_factory, conversations, channels)
            keeper_task = asyncio.create_task(keeper.run(stop), name="telegram")
        else:
            log.warning("Telegram bot is off (TELEGRAM_BOT_TOKEN is not set); "
                        "the web chat is available at %s/c/<point token>", settings.public_url)

        from web import create_app

        app = create_app(settings, session_factory=session_factory, engine=conversations,
                         channels=channels)
        channels.start()  # inbox workers (WeChat) answer what their callbacks keep
        web = WebServer(app, settings.host, settings.port)
        web.start()
        log.info("Console and web chat listening on %s (public address %s)",
                 web.address, settings.public_url)

        from minyi.notifier import Notifier

        notifier = Notifier(settings, session_factory, channels)
        notifier_task = asyncio.create_task(notifier.run(stop), name="notifier")

        scheduler = build_scheduler(session_factory, settings)
        scheduler.start()
        if settle:
            heap.settle()
        log.info("minyi is running; press Ctrl+C to stop")

        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stop_wait, notifier_task},
                                     return_when=asyncio.FIRST_COMPLETED)
        if notifier_task in done and not stop.is_set():
            stop_wait.cancel()
            crashed = notifier_task.exception() or RuntimeError("the notifier returned early")
            log.error("the notifier stopped unexpectedly: %r; shutting down", crashed)
            stop.set()
        log.info("stopping ...")
    finally:
        stop.set()
        if scheduler is not None and scheduler.running:
            # Let a running job finish its unit of work: the database engine is
            # disposed below, and a job cut off there would end in a traceback.
            await asyncio.to_thread(scheduler.shutdown, True)
        if notifier_task is not None:
            try:
                await asyncio.wait_for(notifier_task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                notifier_task.cancel()
            except Exception:
                if crashed is None:
                    log.exception("the notifier failed while stopping")
        if keeper_task is not None:
            try:
                await asyncio.wait_for(keeper_task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                keeper_task.cancel()
            except Exception:
                log.exception("the Telegram bot failed while stopping")
        if channels is not None:
            channels.close()
        if web is not None:
            await asyncio.to_thread(web.stop)
        engine.dispose()
        log.info("stopped")
    if crashed is not None:
        # Exit non-zero so that a service manager restarts us.
        raise crashed


def serve(settings: Settings) -> None:
    """Blocking entry point of `minyi serve`."""
    configure_logging(settings.log_format)
    limits.configure(settings.redis_url)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(settings, settle=True))
