"""What every channel provides, both ways; the sender and the posters treat them all alike.

A channel is one folder under `bot/channels/`. Inbound, it owns an adapter
that turns its own traffic (Telegram updates, web chat requests, WeChat
callbacks) into the engine's `Inbound`, stamped with its `Capabilities`.
Outbound, it implements `ChannelPort`: `deliver(message) -> Outcome` for one
outbox row, its `capabilities`, its `rate` policy and its `links` for a
collection point; `listen`, `start` and `close` wire its inbound side into
the web app and `minyi serve`. Nothing outside a channel's folder imports the channel's
own library (telegram, wechatpy); `tests/test_channels.py` checks.

The outcomes mirror a notification transport's: sent; retry (after N seconds
when the channel said how long, which also holds the channel back that long);
recipient gone (blocked us, unfollowed: never again); failed (this message
can never go).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from flask import Flask
from sqlalchemy.orm import Session

from store.conversation.types import Capabilities, Inbound, Reply
from store.models import Channel

__all__ = ["BaseChannel", "Capabilities", "ChannelPort", "Handle", "ChannelStartError", "Message", "Outcome",
           "PointLinks", "RatePolicy", "Status"]


class ChannelStartError(Exception):
    """A channel cannot start; the message says what to fix."""


class Status(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery, and so what the sender records."""

    status: Status
    error: str = ""
    # For RETRY: seconds the channel asked us to wait (None: the sender's backoff).
    retry_after: float | None = None

    @classmethod
    def sent(cls) -> Outcome:
        return cls(Status.SENT)

    @classmethod
    def retry(cls, error: str, after: float | None = None) -> Outcome:
        return cls(Status.RETRY, error, after)

    @classmethod
    def gone(cls, error: str) -> Outcome:
        return cls(Status.GONE, error)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(Status.FAILED, error)


@dataclass(frozen=True)
class Message:
    """One outbox row to deliver, detached from its session."""

    id: int
    channel: Channel
    chat_id: str
    text: str
    buttons: list[list[dict[str, str]]] | None
    attempts: int


@dataclass(frozen=True)
class RatePolicy:
    """How fast a channel may be written to: `overall` per second (None: no limit), at
    least `per_recipient` seconds between two messages to one recipient, and at most
    `at_once` sends in flight at a time (each to a different recipient)."""

    overall: int | None = None
    per_recipient: float = 0.0
    at_once: int = 1

    @property
    def limited(self) -> bool:
        return self.overall is not None or self.per_recipient > 0


@dataclass(frozen=True)
class PointLinks:
    """How a citizen reaches a collection point on one channel.

    `deep_link` is an address a person may open or type; `qr_payload` is
    what the point's QR code encodes (often the same address).
    """

    channel: Channel
    label: str  # the channel's name on the points page ("网页反映", "Telegram", "微信公众号")
    caption: str  # what a poster prints under the code
    deep_link: str | None
    qr_payload: str


Handle = Callable[[Session, Inbound], list[Reply]]


@runtime_checkable
class ChannelPort(Protocol):
    """One channel as the sender, the console, the posters and `minyi serve` see it."""

    kind: Channel
    name: str  # as staff read it: "网页", "Telegram", "微信"
    capabilities: Capabilities
    rate: RatePolicy

    @property
    def sending(self) -> bool:
        """Whether outbox rows may be claimed for it now; while False they wait."""
        ...

    async def deliver(self, message: Message) -> Outcome:
        """Send one outbox message. Never raises for a refusal: that is an `Outcome`."""
        ...

    def links(self, token: str) -> PointLinks | None:
        """The point's way in on this channel (None when it has none yet)."""
        ...

    def listen(self, app: Flask, handle: Handle) -> None:
        """Take inbound traffic into `handle` (the engine): a callback channel installs its
        endpoint into `app` here."""
        ...

    def start(self) -> None:
        """Start its background work (an inbox worker), in `minyi serve` only."""
        ...

    def close(self) -> None:
        """Stop its background work and let go of its connections."""
        ...


class BaseChannel:
    """Defaults for a channel that always sends and needs no inbound wiring of its own."""

    @property
    def sending(self) -> bool:
        return True

    def listen(self, app: Flask, handle: Handle) -> None:
        return None

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None
