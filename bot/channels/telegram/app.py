"""Building, starting and stopping the Telegram application (long polling)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot.channels.base import ChannelStartError
from bot.channels.telegram.handlers import KEY, BotContext, HandlesInbound, on_error, on_update
from bot.channels.telegram.sender import SEND_READ_TIMEOUT, SEND_WRITE_TIMEOUT
from bot.channels.telegram.translate import DOWNLOAD_LIMIT
from minyi.settings import ConfigError, Settings
from store.conversation import commands
from store.conversation.engine import Engine
from store.models import Channel

log = logging.getLogger(__name__)

class BadToken(ChannelStartError):
    """Telegram refused the token: trying again cannot help."""


POLLER = "minyi.poller"  # the polling task, in application.bot_data
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post"]
CONFIRM_EVERY = 1.0  # seconds between confirmations of a batch's answered beginning

# The menu Telegram shows beside the input box: the one list of commands, in its order.
COMMANDS = {lang: [(c.name, c.description(lang)) for c in commands.menu(Channel.TELEGRAM)]
            for lang in ("zh", "en")}


def build_application(
    settings: Settings,
    session_factory: sessionmaker[Session],
    engine: HandlesInbound | object | None = None,
) -> Application:  # type: ignore[type-arg]
    """The PTB application for `settings`, answering every update through `engine`.

    `engine` is the conversation engine; without one (or given something that
    cannot `handle`, such as a database engine) one is built from `settings`.
    Start it with `serve()` (or `async with app: await app.start()` and the
    updater's `start_polling()`); nothing is contacted until then.
    """
    if not settings.telegram_bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set; the Telegram bot cannot start")
    if not hasattr(engine, "handle"):
        engine = Engine(settings.engine_config())
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        # Long polls hold the connection for the poll timeout; allow for it.
        .get_updates_read_timeout(settings.telegram_poll_timeout + 10)
        # A send that times out after its request went may have arrived, and is sent
        # again (sender.SENT_MAYBE): wait long enough that only a Bot API truly gone
        # silent does that, not a busy machine (PTB's default is 5 s).
        .read_timeout(SEND_READ_TIMEOUT)
        .write_timeout(SEND_WRITE_TIMEOUT)
        .build()
    )
    limit = min(settings.max_upload_mb * 1024 * 1024, DOWNLOAD_LIMIT)
    app.bot_data[KEY] = BotContext(session_factory=session_factory,
                                   engine=engine,  # type: ignore[arg-type]
                                   download_limit=limit)
    app.add_handler(TypeHandler(Update, on_update))
    app.add_error_handler(on_error)
    return app


async def register_commands(bot: Bot) -> None:
    """Show the command menu: Chinese by default, English to English-language clients."""
    try:
        await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS["zh"]])
        await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS["en"]],
                                  language_code="en")
    except TelegramError as exc:  # a menu is a nicety; the bot works without it
        log.warning("could not register the command menu: %s", exc)


async def serve(app: Application, stop: asyncio.Event, poll_timeout: int = 30) -> None:  # type: ignore[type-arg]
    """Run `app` by long polling until `stop` is set, then shut it down cleanly."""
    async with app:
        await register_commands(app.bot)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES)
        try:
            await stop.wait()
        finally:
            await app.updater.stop()
            await app.stop()


async def connect(settings: Settings,
                  session_factory: sessionmaker[Session],
                  engine: HandlesInbound) -> Application:  # type: ignore[type-arg]
    """Initialise the application (getMe), start it and show the command menu; no updates yet."""
    application = build_application(settings, session_factory, engine)
    try:
        await application.initialize()  # calls getMe
    except InvalidToken as exc:
        raise BadToken(f"Telegram rejected TELEGRAM_BOT_TOKEN ({exc}); check it with "
                       "BotFather, or unset it to run without the bot") from exc
    except TelegramError as exc:
        raise ChannelStartError(f"cannot reach the Telegram Bot API at {settings.telegram_base_url} "
                                f"({exc}); check the network or TELEGRAM_BASE_URL") from exc
    await application.start()
    await register_commands(application.bot)
    return application


async def start(settings: Settings, session_factory: sessionmaker[Session],
                engine: HandlesInbound) -> Application:  # type: ignore[type-arg]
    """Initialise the application (getMe) and start long polling; returns it (see `stop`)."""
    application = await connect(settings, session_factory, engine)
    try:
        await application.bot.delete_webhook()  # as PTB's own start_polling does
    except TelegramError as exc:
        await stop(application)
        raise ChannelStartError(f"cannot start long polling ({exc})") from exc
    application.bot_data[POLLER] = asyncio.create_task(
        poll(application, settings.telegram_poll_timeout), name="telegram-poll")
    return application


async def poll(application: Application, timeout: int) -> None:  # type: ignore[type-arg]
    """Long polling that confirms updates only once they have been answered.

    PTB's updater confirms a batch (by the next getUpdates' offset) as soon as
    it has fetched it, before the handlers run: a process killed in between
    loses those updates, answers given and unsaid (the crash drill,
    bench/crash_drill/, found people then saying an answer twice). Here the
    offset passes a batch only when each of its updates has been handled, each
    chat's in order and the chats side by side; after a crash Telegram hands
    the batch over again, and the engine applies none of it twice (it records
    each update id in the transaction that applies it) but answers each.
    """
    offset: int | None = None
    wait = 1.0
    while True:
        try:
            updates = await application.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        except InvalidToken:
            log.error("Telegram refused the token while polling")
            raise
        except TelegramError as exc:
            log.warning("getUpdates failed: %s; trying again in %.0f s", exc, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 30.0)
            continue
        wait = 1.0
        if not updates:
            continue
        await _answer_batch(application, updates)
        offset = updates[-1].update_id + 1


async def _answer_batch(application: Application, updates: list[Update]) -> None:  # type: ignore[type-arg]
    """Answer a batch, each chat's updates in order and the chats side by side, confirming
    to Telegram every CONFIRM_EVERY seconds the run of updates from the batch's start that
    is answered already.

    Without this a slow chat holds the whole batch unconfirmed: a bot killed more often
    than it can finish a batch (the crash drill on a loaded machine) was handed the same
    batch after every restart and never got further.
    """
    answered: set[int] = set()
    chats: dict[int | None, list[Update]] = {}
    for update in updates:
        chat = update.effective_chat
        chats.setdefault(chat.id if chat else None, []).append(update)
    batch = asyncio.ensure_future(asyncio.gather(
        *(_in_order(application, mine, answered) for mine in chats.values())))
    confirmed: int | None = None
    while not batch.done():
        await asyncio.wait({batch}, timeout=CONFIRM_EVERY)
        done = _answered_run(updates, answered)
        if batch.done() or done is None or done == confirmed:
            continue
        try:
            # An offset past an update confirms it; what this call returns is not
            # answered here (the unconfirmed rest comes again with the next poll).
            await application.bot.get_updates(offset=done + 1, timeout=0, limit=1,
                                              allowed_updates=ALLOWED_UPDATES)
            confirmed = done
        except TelegramError as exc:
            log.warning("could not confirm updates up to %s: %s", done, exc)
    await batch


def _answered_run(updates: list[Update], answered: set[int]) -> int | None:
    """The last update id of the batch's answered beginning (None: its first is not)."""
    last = None
    for update in updates:
        if update.update_id not in answered:
            break
        last = update.update_id
    return last


async def _in_order(application: Application, updates: list[Update],  # type: ignore[type-arg]
                    answered: set[int]) -> None:
    for update in updates:
        try:
            await application.process_update(update)
        except Exception:  # a handler's failure went to on_error; the next update goes on
            log.exception("update %s failed", update.update_id)
        answered.add(update.update_id)


async def start_webhook(settings: Settings,
                        session_factory: sessionmaker[Session],
                        engine: HandlesInbound) -> Application:  # type: ignore[type-arg]
    """Initialise the application and tell Telegram to post updates to TELEGRAM_WEBHOOK_URL.

    Every `minyi bot` in webhook mode sets the same address and secret, so
    starting one more changes nothing for the others.
    """
    assert settings.telegram_webhook_url and settings.telegram_webhook_secret
    application = await connect(settings, session_factory, engine)
    try:
        await application.bot.set_webhook(settings.telegram_webhook_url,
                                          secret_token=settings.telegram_webhook_secret,
                                          allowed_updates=ALLOWED_UPDATES)
    except TelegramError as exc:
        await stop(application)
        raise ChannelStartError(f"Telegram refused the webhook address "
                                f"{settings.telegram_webhook_url} ({exc})") from exc
    return application


async def stop(application: Application) -> None:  # type: ignore[type-arg]
    """Stop polling and shut the application down, whatever state it reached."""
    poller = application.bot_data.pop(POLLER, None)
    if poller is not None:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await poller
    with contextlib.suppress(Exception):
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
    with contextlib.suppress(Exception):
        if application.running:
            await application.stop()
    await application.shutdown()
