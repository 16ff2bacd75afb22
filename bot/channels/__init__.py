"""Messaging channels, one folder each (`telegram/`, `webchat/`, `wechat/`), behind one
interface (`base.ChannelPort`), listed by one registry built at start-up.

`registry(settings, sessions, telegram_bot=...)` holds the enabled channels:
the web chat always; Telegram when its token or its bot's username is known
(it sends only with a `Bot`, handed over once Telegram answers:
`TelegramChannel.connect`); WeChat when WECHAT_APP_ID, _APP_SECRET and _TOKEN are set.
`minyi serve` builds it once and hands it to
the web app (`create_app(channels=...)`), which lets each channel `listen`.
The notifier, the outbox and the posters ask it and name no channel.
Channel folders are imported lazily: a switched-off channel's library is
never loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import ChannelPort, Handle, PointLinks
from minyi.settings import Settings
from store.models import Channel

__all__ = ["Registry", "registry"]


@dataclass
class Registry:
    """The enabled channels by kind, in the order posters show them."""

    channels: dict[Channel, ChannelPort] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ChannelPort]:
        return iter(self.channels.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self.channels

    def get(self, kind: Channel) -> ChannelPort | None:
        return self.channels.get(kind)

    @property
    def kinds(self) -> list[Channel]:
        """The channels messages may be claimed for now; rows for any other wait."""
        return [kind for kind, channel in self.channels.items() if channel.sending]

    def codes(self, token: str) -> list[tuple[str, str]]:
        """(caption, payload) of a point's QR code on every enabled channel, for posters."""
        return [(link.caption, link.qr_payload) for link in self.links(token)]

    def listen(self, app: Flask, handle: Handle) -> None:
        for channel in self:
            channel.listen(app, handle)

    def start(self) -> None:
        for channel in self:
            channel.start()

    @property
    def staff_channels(self) -> list[ChannelPort]:
        """The enabled channels a staff member may link a chat on for alerts."""
        return [channel for channel in self if channel.capabilities.staff_alerts]

    def name_of(self, kind: Channel) -> str:
        """A channel's name as staff read it; a switched-off one (its folder is never
        imported) by its stored value."""
        channel = self.channels.get(kind)
        return channel.name if channel is not None else kind.value

    def links(self, token: str) -> list[PointLinks]:
        """A point's way in on every enabled channel that has one."""
        found = (channel.links(token) for channel in self)
        return [link for link in found if link is not None]

    def close(self) -> None:
        for channel in self:
            channel.close()


def registry(settings: Settings, sessions: sessionmaker[Session], *,
             telegram_bot: Any | None = None) -> Registry:
    """The channels switched on by `settings`; Telegram sends only through `telegram_bot`."""
    from bot.channels.webchat.channel import WebChatChannel

    enabled: dict[Channel, ChannelPort] = {Channel.WEB: WebChatChannel(settings.public_url, sessions)}
    if telegram_bot is not None or settings.telegram_bot_username or settings.telegram_bot_token:
        from bot.channels.telegram.channel import TelegramChannel

        enabled[Channel.TELEGRAM] = TelegramChannel(settings, telegram_bot)
    if settings.wechat_enabled:
        from bot.channels.wechat.channel import WeChatChannel

        enabled[Channel.WECHAT] = WeChatChannel(settings, sessions)
    return Registry(enabled)
