"""Telegram as a `ChannelPort`: an outbox message sent with the Bot API, its errors as outcomes."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channels.base import BaseChannel, Message, Outcome, PointLinks, RatePolicy
from bot.channels.telegram.sender import CAPABILITIES, may_have_arrived, retry_after_seconds, send
from minyi.settings import Settings
from store.models import Channel
from store.network import points

log = logging.getLogger(__name__)



class TelegramChannel(BaseChannel):
    """Sends through `bot` (the running application's), within Telegram's flood limits.

    Without a bot (a console-only process, or before the bot is up) it still
    offers a point's deep link when the bot's username is known, and sends
    nothing: Telegram's rows wait. Its inbound side is long polling, started
    by `minyi serve` (`app.start`) because the bot it sends with comes from it.
    """

    kind = Channel.TELEGRAM
    name = "Telegram"
    capabilities = CAPABILITIES

    def __init__(self, settings: Settings, bot: Bot | None) -> None:
        self.bot = bot
        self.username = settings.telegram_bot_username
        # A second's worth of sends may be in flight: each call takes a round trip to
        # Telegram (~150 ms), so one at a time would reach a fifth of the rate.
        self.rate = RatePolicy(settings.global_rate, settings.per_chat_interval,
                               at_once=max(1, settings.global_rate))

    def connect(self, bot: Bot) -> None:
        """Send through `bot` from now on (Telegram answered): the rows waiting go out."""
        self.bot = bot
        self.username = self.username or bot.username

    @property
    def sending(self) -> bool:
        return self.bot is not None

    async def deliver(self, message: Message) -> Outcome:
        if self.bot is None:
            return Outcome.retry("the Telegram bot is not running")
        try:
            await send(self.bot, message.chat_id, message.text, message.buttons)
        except RetryAfter as exc:
            return Outcome.retry(str(exc), retry_after_seconds(exc))
        except Forbidden as exc:
            return Outcome.gone(str(exc))
        except (BadRequest, ChatMigrated) as exc:
            # "chat not found" and the like: sending again would fail again.
            return Outcome.failed(str(exc))
        except Exception as exc:
            # Time-outs, 5xx, connection errors: Telegram may be back later.
            if isinstance(exc, InvalidToken) or not isinstance(exc, TelegramError):
                log.error("sending outbox row %s failed", message.id, exc_info=exc)
            elif may_have_arrived(exc):
                # Telegram cannot be asked; twice is better than never. Logged apart so an
                # operator sees how often it happens.
                log.warning("outbox row %s: no answer from Telegram (%s: %s); the message "
                            "may have arrived and is sent again", message.id,
                            type(exc).__name__, exc)
            return Outcome.retry(f"{type(exc).__name__}: {exc}")
        return Outcome.sent()

    def links(self, token: str) -> PointLinks | None:
        link = points.telegram_link(self.username, token)
        if link is None:
            return None
        return PointLinks(Channel.TELEGRAM, "Telegram", "Telegram 扫码反映", link, link)
