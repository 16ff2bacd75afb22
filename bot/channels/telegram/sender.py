"""Sending text with inline buttons to one chat; used by the handlers and the notifier."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter

from store.conversation.types import Capabilities

# Telegram refuses longer messages; long read-backs are split.
TEXT_LIMIT = 4096
# What people can do in a private chat with the bot (stamped on every `Inbound`).
CAPABILITIES = Capabilities(commands=True, buttons=True, files=True, longest_text=TEXT_LIMIT)
# Seconds a Bot API call may take to answer, and to write its request. Telegram has no
# idempotency key: a send that times out after its request went out may have arrived, and
# sending it again can show it twice, so these are long (PTB's defaults are 5 s, which a
# machine busy past its cores reaches); the notifier holds the chat while a send is open.
SEND_READ_TIMEOUT = 30.0
SEND_WRITE_TIMEOUT = 20.0
# Failures that happen before a request reaches the server: nothing can have arrived.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def keyboard(buttons_json: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    """The inline keyboard for rows of `{"label", "data"}` (the outbox's format)."""
    rows = [[InlineKeyboardButton(b["label"], callback_data=b["data"]) for b in row]
            for row in (buttons_json or []) if row]
    return InlineKeyboardMarkup(rows) if rows else None


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` cut into pieces Telegram accepts, preferring to cut at line ends."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text.strip() or not pieces:
        pieces.append(text)
    return pieces


async def send(bot: Bot, chat_id: int | str, text: str,
               buttons_json: list[list[dict[str, Any]]] | None) -> None:
    """Send `text` to `chat_id` with the buttons under its last piece.

    Raises PTB's errors (RetryAfter, Forbidden, BadRequest, TimedOut,
    NetworkError) for the caller to judge.
    """
    pieces = chunks(text or " ")
    for i, piece in enumerate(pieces):
        markup = keyboard(buttons_json) if i == len(pieces) - 1 else None
        await bot.send_message(chat_id=chat_id, text=piece, reply_markup=markup)


def may_have_arrived(exc: BaseException) -> bool:
    """Whether the call that failed with `exc` (PTB's NetworkError or TimedOut, not an error
    Telegram answered) may still have been carried out: true unless it never left us."""
    if not isinstance(exc, NetworkError):
        return False
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, httpx.HTTPError):
        cause = cause.__cause__
    return not isinstance(cause, _NOT_SENT)


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked us to wait, in seconds."""
    # PTB 22 hands back an int or a timedelta depending on PTB_TIMEDELTA, and
    # warns about the int; either way we want seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
