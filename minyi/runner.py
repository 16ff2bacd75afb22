"""`minyi serve`: everything in one process.

waitress serves the Flask app (console + web chat) from its own thread; one
asyncio loop runs the Telegram bot (long polling, when a token is set), the
notifier that delivers the outbox, and the scheduler. SIGINT or SIGTERM stops
them in the reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from minyi.scheduler import build_scheduler
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.db import make_engine, make_sessionmaker

log = logging.getLogger("minyi")


class StartupError(Exception):
    """minyi cannot start; the message says what to fix."""


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines to stderr with timestamps; quiet the libraries' per-request chatter."""
    logging.basicConfig(
        stream=sys.stderr, level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S",
    )
    # httpx logs every long-poll request at INFO; apscheduler every run.
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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


async def _start_bot(settings: Settings, session_factory: sessionmaker[Session],
                     conversations: Engine) -> Any:
    """Initialise the PTB Application (getMe) and start long polling; returns it."""
    from telegram.error import InvalidToken, TelegramError

    from bot.app import ALLOWED_UPDATES, build_application, register_commands

    application = build_application(settings, session_factory, conversations)
    try:
        await application.initialize()  # calls getMe
    except InvalidToken as exc:
        raise StartupError(f"Telegram rejected TELEGRAM_BOT_TOKEN ({exc}); check it with "
                           "BotFather, or unset it to run without the bot") from exc
    except TelegramError as exc:
        raise StartupError(f"cannot reach the Telegram Bot API at {settings.telegram_base_url} "
                           f"({exc}); check the network or TELEGRAM_BASE_URL") from exc
    await application.start()
    await register_commands(application.bot)
    assert application.updater is not None
    await application.updater.start_polling(
        timeout=settings.telegram_poll_timeout, allowed_updates=ALLOWED_UPDATES,
    )
    return application


async def _stop_bot(application: Any) -> None:
    with contextlib.suppress(Exception):
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
    with contextlib.suppress(Exception):
        if application.running:
            await application.stop()
    await application.shutdown()


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)

    engine = make_engine(settings.database_url)
    session_factory = make_sessionmaker(engine)
    # One conversation engine behind both channels: the same form, the same rules.
    conversations = Engine(settings.engine_config())
    application = None
    web: WebServer | None = None
    scheduler = None
    notifier_task: asyncio.Task[None] | None = None
    crashed: BaseException | None = None
    try:
        if settings.telegram_bot_token:
            log.info("Telegram bot: starting long polling against %s", settings.telegram_base_url
                     .replace(settings.telegram_bot_token, "<token>"))
            application = await _start_bot(settings, session_factory, conversations)
            username = application.bot.username
            if not settings.telegram_bot_username and username:
                # Links and QR codes need the bot's name: take what getMe said.
                settings = replace(settings, telegram_bot_username=username)
            log.info("Telegram bot @%s is polling", username)
        else:
            log.warning("Telegram bot is off (TELEGRAM_BOT_TOKEN is not set); "
                        "the web chat is available at %s/c/<point token>", settings.public_url)

        from web import create_app

        app = create_app(settings, session_factory=session_factory, engine=conversations)
        web = WebServer(app, settings.host, settings.port)
        web.start()
        log.info("Console and web chat listening on %s (public address %s)",
                 web.address, settings.public_url)

        from minyi.notifier import Notifier

        bot = application.bot if application is not None else None
        notifier = Notifier(settings, session_factory, bot)
        notifier_task = asyncio.create_task(notifier.run(stop), name="notifier")

        scheduler = build_scheduler(session_factory, settings)
        scheduler.start()
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
        if application is not None:
            await _stop_bot(application)
        if web is not None:
            await asyncio.to_thread(web.stop)
        engine.dispose()
        log.info("stopped")
    if crashed is not None:
        # Exit non-zero so that a service manager restarts us.
        raise crashed


def serve(settings: Settings) -> None:
    """Blocking entry point of `minyi serve`."""
    configure_logging()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(settings))
